//! The library's log, handed to the host's logger through a callback.
//!
//! The library logs with `tracing`. Setting a callback installs, once per
//! process, a `tracing` subscriber whose one layer formats each record
//! (its message, then its fields as ` key=value`) and passes it on with
//! its level and target. Records above the chosen level cost nothing: the
//! level is the subscriber's hint, so `tracing` skips their call sites.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CString};
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::boundary::{run, Failure};

/// No records.
pub const PINECONE_LOG_OFF: c_int = 0;
/// Errors: something failed that the node could not work around.
pub const PINECONE_LOG_ERROR: c_int = 1;
/// Warnings: something unexpected the node worked around.
pub const PINECONE_LOG_WARN: c_int = 2;
/// Information: peerings coming and going, listeners, refusals.
pub const PINECONE_LOG_INFO: c_int = 3;
/// Detail for debugging.
pub const PINECONE_LOG_DEBUG: c_int = 4;
/// Everything.
pub const PINECONE_LOG_TRACE: c_int = 5;

/// A log callback: the record's level (a `PINECONE_LOG_*` number from
/// error to trace), its target (the library's module that logged it, e.g.
/// "pinecone_transports::node::control"), its message with its fields,
/// and the user data given with it. Both strings are NUL-terminated UTF-8
/// and valid only during the call.
pub type PineconeLogFn = Option<
    unsafe extern "C" fn(
        level: c_int,
        target: *const c_char,
        message: *const c_char,
        user_data: *mut c_void,
    ),
>;

/// The callback and its user data.
struct Sink {
    callback: unsafe extern "C" fn(c_int, *const c_char, *const c_char, *mut c_void),
    /// The caller's pointer, kept as a number: the library never
    /// dereferences it.
    user_data: usize,
}

/// The callback; held for reading while it runs, so that replacing it
/// waits for running calls.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// The most detailed level passed on, a `PINECONE_LOG_*` number.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);

/// Whether the subscriber is installed, or why it could not be.
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

thread_local! {
    /// Set while this thread runs the callback: records logged meanwhile
    /// (by library calls the callback makes) are dropped, not passed on
    /// recursively.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// The `PINECONE_LOG_*` number of `level`.
fn number_of(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// The filter letting through the `PINECONE_LOG_*` number `level`.
fn filter_of(level: u8) -> LevelFilter {
    match level {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn passes(metadata: &Metadata<'_>) -> bool {
    number_of(*metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// The layer passing records to the callback.
struct CallbackLayer;

impl<S: Subscriber> Layer<S> for CallbackLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if passes(metadata) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        passes(metadata) && !IN_CALLBACK.with(Cell::get)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(filter_of(MAX_LEVEL.load(Ordering::Relaxed)))
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if !passes(metadata) || IN_CALLBACK.with(Cell::get) {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let message = c_string(&text.message);
        let target = c_string(metadata.target());
        let sink = SINK.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(sink) = sink.as_ref() {
            IN_CALLBACK.with(|flag| flag.set(true));
            // SAFETY: the host gave this callback for exactly this call,
            // with these arguments; the strings live until it returns.
            unsafe {
                (sink.callback)(
                    c_int::from(number_of(*metadata.level())),
                    target.as_ptr(),
                    message.as_ptr(),
                    sink.user_data as *mut c_void,
                );
            }
            IN_CALLBACK.with(|flag| flag.set(false));
        }
    }
}

/// `text` as a C string, NULs shown as `\0`.
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

/// A record's message followed by its other fields.
#[derive(Default)]
struct Text {
    message: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Writing to a String cannot fail.
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.message);
            let _ = write!(self.message, "{value:?}{fields}");
        } else {
            let _ = write!(self.message, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            let _ = write!(self.message, " {}={value}", field.name());
        }
    }
}

/// Installs the subscriber, once per process.
fn install() -> Result<(), Failure> {
    INSTALLED
        .get_or_init(|| {
            let subscriber = tracing_subscriber::registry().with(CallbackLayer);
            tracing::subscriber::set_global_default(subscriber).map_err(|_| {
                "this process already has a tracing subscriber, which the library logs to"
                    .to_owned()
            })
        })
        .clone()
        .map_err(Failure)
}

/// Passes the library's log records up to `max_level` (a `PINECONE_LOG_*`
/// number; `PINECONE_LOG_INFO` is a good default) to `callback`, with
/// `user_data`; a NULL `callback` (or `PINECONE_LOG_OFF`) stops them.
/// The callback is process-wide: it receives the records of every node.
/// Returns 0, or -1 on failure: a level out of range, a call from inside
/// the callback, or (in a Rust program) a `tracing` subscriber already
/// installed by someone else.
///
/// Rules for the callback:
///
/// * It runs on the thread that logged: the node's control and forwarding
///   threads, its dialling threads, or a thread calling the library. It
///   may run on several threads at once, so it must be thread-safe, and
///   it should return quickly: a forwarding thread waits for it.
/// * It may call the library's functions, except this one (which then
///   fails); records those calls log on its thread are dropped rather
///   than passed to it recursively. It must not wait for another thread
///   that is itself calling this function, nor for
///   `pinecone_node_shutdown` or `pinecone_node_free` on another thread,
///   which wait for the node's threads.
/// * Once this function returns, the previous callback is never called
///   again: replacing it waits for calls of it still running.
///
/// # Safety
///
/// `callback` is NULL or a function of that signature that may be called
/// with `user_data` from any thread until it is replaced.
#[no_mangle]
pub unsafe extern "C" fn pinecone_set_log_callback(
    callback: PineconeLogFn,
    max_level: c_int,
    user_data: *mut c_void,
) -> c_int {
    run(-1, || {
        if IN_CALLBACK.with(Cell::get) {
            return Err(Failure(
                "the log callback cannot be changed from inside it".to_owned(),
            ));
        }
        let level = u8::try_from(max_level)
            .ok()
            .filter(|&level| level <= 5)
            .ok_or_else(|| Failure(format!("{max_level} is not a log level (0 to 5)")))?;
        let sink = callback.map(|callback| Sink {
            callback,
            user_data: user_data as usize,
        });
        let level = if sink.is_some() { level } else { 0 };
        if sink.is_some() && level > 0 {
            install()?;
        }
        // Waits for calls of the old callback still running.
        *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
        MAX_LEVEL.store(level, Ordering::Relaxed);
        tracing::callsite::rebuild_interest_cache();
        Ok(0)
    })
}
