//! The thread that calls a node's event callback, and stopping it.

use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle, ThreadId};

use pinecone_engine::control::Event;
use pinecone_transports::Node;

use crate::boundary::Failure;
use crate::events::{describe, PineconeEvent};

/// A callback and its user data.
pub(crate) struct Callback {
    /// The function called with each event.
    pub(crate) function: unsafe extern "C" fn(*const PineconeEvent, *mut c_void),
    /// Passed to every call as is.
    pub(crate) user_data: *mut c_void,
}

// SAFETY: whoever sets the callback promises that it and its user data may
// be used from the event thread.
unsafe impl Send for Callback {}

/// The callback, shared by the hub and its thread.
#[derive(Default)]
struct Slot {
    /// The callback; held locked while it runs, so that replacing or
    /// removing it waits for a running call.
    callback: Mutex<Option<Callback>>,
    /// Set when the node starts shutting down: from then on no callback
    /// is set, started or called.
    closed: AtomicBool,
}

impl Slot {
    fn callback(&self) -> MutexGuard<'_, Option<Callback>> {
        self.callback.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The callback of one node and the thread that calls it.
#[derive(Default)]
pub(crate) struct EventHub {
    slot: Arc<Slot>,
    /// The event thread, from its start until it is joined.
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The event thread's id, once started.
    thread_id: OnceLock<ThreadId>,
}

/// What setting a callback after shutdown began answers.
const SHUT_DOWN: &str = "the node is shut down";

impl EventHub {
    /// Fails on this node's event thread, where waiting for the callback
    /// would wait for itself.
    pub(crate) fn refuse_on_event_thread(&self) -> Result<(), Failure> {
        if self.thread_id.get() == Some(&thread::current().id()) {
            return Err(Failure(
                "not allowed from the node's own event callback".to_owned(),
            ));
        }
        Ok(())
    }

    /// Sets or (with `None`) removes the callback, waiting for a running
    /// one, and starts the event thread on first use. Fails once the node
    /// is shutting down.
    pub(crate) fn set(&self, node: &Node, callback: Option<Callback>) -> Result<(), Failure> {
        self.refuse_on_event_thread()?;
        if callback.is_some() {
            self.start(node)?;
        }
        let mut slot = self.slot.callback();
        if self.slot.is_closed() {
            return Err(Failure(SHUT_DOWN.to_owned()));
        }
        *slot = callback;
        Ok(())
    }

    /// Starts the event thread unless it runs already.
    fn start(&self, node: &Node) -> Result<(), Failure> {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the thread's lock, which `stop` takes after
        // closing: a thread started here is one `stop` joins.
        if self.slot.is_closed() {
            return Err(Failure(SHUT_DOWN.to_owned()));
        }
        if thread.is_some() {
            return Ok(());
        }
        let events = node.subscribe()?;
        let slot = Arc::clone(&self.slot);
        let started = thread::Builder::new()
            .name("pinecone-events".to_owned())
            .spawn(move || {
                // Ends once the node has stopped and every event it sent
                // before is told or skipped.
                for event in events.iter() {
                    dispatch(&slot, &event);
                }
            })?;
        let _ = self.thread_id.set(started.thread().id());
        *thread = Some(started);
        Ok(())
    }

    /// Calls the callback no more, except for a call running now, and
    /// refuses new callbacks. Does not wait.
    pub(crate) fn close(&self) {
        self.slot.closed.store(true, Ordering::Release);
    }

    /// After [`close`](Self::close) and once the node has stopped: waits
    /// for a running callback, removes it and joins the event thread.
    /// Must not run on the event thread.
    pub(crate) fn stop(&self) {
        *self.slot.callback() = None;
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            // The thread has ended either way; a panic of its own left
            // nothing to clean up.
            let _ = thread.join();
        }
    }
}

/// Calls the callback, if there is one and the node is not shutting down,
/// with `event`.
fn dispatch(slot: &Slot, event: &Event) {
    let callback = slot.callback();
    let Some(callback) = callback.as_ref().filter(|_| !slot.is_closed()) else {
        return;
    };
    let (kind, port, key, details) = describe(event);
    let json = CString::new(details.to_string()).unwrap_or_default();
    let event = PineconeEvent {
        kind,
        port,
        key: key.map_or([0; 32], |key| key.0),
        json: json.as_ptr(),
    };
    // SAFETY: whoever set the callback promises it may be called with its
    // user data from this thread; `event` and `json` outlive the call.
    unsafe { (callback.function)(&event, callback.user_data) };
}
