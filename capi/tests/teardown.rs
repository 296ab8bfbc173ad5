//! Shutting a node down and freeing it while other calls on it are
//! blocked: in the event callback, on other threads, in conduit reads and
//! in handshakes. Each teardown runs under a watchdog, so that a deadlock
//! fails the test instead of hanging it.

use std::ffi::c_void;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::resume_unwind;
use std::ptr::null;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pinecone::*;
use support::*;

mod support;

/// How long a teardown may take before the test counts it as deadlocked.
const WATCHDOG: Duration = Duration::from_secs(10);

/// How long a blocked call is given to settle into its wait.
const SETTLE: Duration = Duration::from_millis(200);

/// Runs `scenario` on a thread of its own and returns what it returned.
/// Panics, naming `what`, when it has not finished within [`WATCHDOG`];
/// the stuck thread is left behind.
fn within_watchdog<T: Send + 'static>(
    what: &str,
    scenario: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (finished, done) = mpsc::channel();
    let runner = thread::spawn(move || {
        let value = scenario();
        let _ = finished.send(());
        value
    });
    match done.recv_timeout(WATCHDOG) {
        // Finished, or panicked (the sender went away): join tells which.
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            runner.join().unwrap_or_else(|panic| resume_unwind(panic))
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("deadlock: {what} did not finish within {WATCHDOG:?}")
        }
    }
}

/// What a callback that blocks in a call of the library does on its first
/// event, and what it saw.
struct Blocker {
    /// The handle the wait is on: a node or a conduit, as `wait` expects.
    target: usize,
    /// Waits in the library; returns the status and the failure's message.
    wait: fn(usize) -> (i64, String),
    /// How many times the callback was called.
    calls: AtomicUsize,
    /// Set just before the first call starts waiting.
    waiting: AtomicBool,
    /// What the wait returned, once it returned.
    outcome: Mutex<Option<(i64, String)>>,
}

impl Blocker {
    /// A blocker living as long as the test program, so that a callback
    /// left running by a failed test never sees it freed.
    fn leaked(target: usize, wait: fn(usize) -> (i64, String)) -> &'static Blocker {
        Box::leak(Box::new(Blocker {
            target,
            wait,
            calls: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            outcome: Mutex::new(None),
        }))
    }

    /// Sets `callback_that_blocks` as `node`'s callback, with this blocker.
    fn install(&'static self, node: &Handle) {
        let user_data = self as *const Blocker as *mut c_void;
        // SAFETY: a live handle; the blocker is never freed.
        let status = unsafe {
            pinecone_node_set_event_callback(node.0, Some(callback_that_blocks), user_data)
        };
        assert_eq!(status, 0, "{}", last_error());
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// What the wait returned; panics when it has not returned.
    fn outcome(&self) -> (i64, String) {
        self.outcome
            .lock()
            .unwrap()
            .clone()
            .expect("the callback is still waiting")
    }
}

/// The event callback: waits in the library on the first event only.
unsafe extern "C" fn callback_that_blocks(_event: *const PineconeEvent, user_data: *mut c_void) {
    // SAFETY: the user data is the leaked `Blocker` given with the callback.
    let blocker = unsafe { &*(user_data as *const Blocker) };
    if blocker.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        blocker.waiting.store(true, Ordering::SeqCst);
        let outcome = (blocker.wait)(blocker.target);
        *blocker.outcome.lock().unwrap() = Some(outcome);
    }
}

/// Waits in `pinecone_node_recv` on the node at `node`, with no timeout.
fn recv_forever(node: usize) -> (i64, String) {
    recv_for(node, -1)
}

/// Waits in `pinecone_node_recv` on the node at `node` for at most
/// `timeout_ms`.
fn recv_for(node: usize, timeout_ms: i32) -> (i64, String) {
    let mut src = [0u8; 32];
    let mut buf = [0u8; 64];
    // SAFETY: the node is live until free, which waits for this call.
    let status = unsafe {
        pinecone_node_recv(
            node as *mut PineconeNode,
            src.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            timeout_ms,
        )
    };
    (status, last_error())
}

/// Reads the conduit at `conduit`, with no timeout, until its peering
/// ends or the read fails; the last status.
fn read_conduit_to_end(conduit: usize) -> (i64, String) {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: the conduit is never freed while its test runs.
        let status = unsafe {
            pinecone_conduit_read(
                conduit as *mut PineconeConduit,
                buf.as_mut_ptr(),
                buf.len(),
                -1,
            )
        };
        if status <= 0 {
            return (status, last_error());
        }
    }
}

/// A second node peered to `node`, which makes `node` report an event.
fn peer_with(node: &Handle) -> Handle {
    let other = Handle::new(None);
    let address = node.listen();
    assert_eq!(
        other.connect(&format!("tcp://{address}")),
        0,
        "{}",
        last_error()
    );
    other
}

/// Waits until the blocker's callback is waiting in the library.
fn wait_until_blocked(blocker: &Blocker) {
    wait_for("the callback to block", || {
        blocker.waiting.load(Ordering::SeqCst)
    });
    thread::sleep(SETTLE);
}

/// Makes `node`'s event callback block in `wait` on `target` (the node or
/// one of its conduits): installs it, peers `node` with a new node so that
/// an event fires, and waits until the callback is blocked. Returns the
/// blocker and the other node, which the test keeps until its end.
fn block_callback(
    node: &Handle,
    target: usize,
    wait: fn(usize) -> (i64, String),
) -> (&'static Blocker, Handle) {
    let blocker = Blocker::leaked(target, wait);
    blocker.install(node);
    let other = peer_with(node);
    wait_until_blocked(blocker);
    (blocker, other)
}

/// Asserts that the callback is not called again, over a while.
fn assert_never_called_again(blocker: &Blocker) {
    let calls = blocker.calls();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(blocker.calls(), calls, "the callback ran after teardown");
}

/// Frees the node at `pointer`.
fn free(pointer: usize) {
    // SAFETY: a handle from `pinecone_node_new`, freed only here.
    unsafe { pinecone_node_free(pointer as *mut PineconeNode) }
}

/// Shuts the node at `pointer` down; the status.
fn shutdown(pointer: usize) -> i32 {
    // SAFETY: a live handle.
    unsafe { pinecone_node_shutdown(pointer as *mut PineconeNode) }
}

/// Takes the handle out of `node`, so that the test frees it itself.
fn into_pointer(node: Handle) -> usize {
    let pointer = node.0 as usize;
    std::mem::forget(node);
    pointer
}

#[test]
fn free_returns_while_the_callback_waits_in_recv() {
    let node = Handle::new(None);
    let (blocker, _other) = block_callback(&node, node.0 as usize, recv_forever);

    let pointer = into_pointer(node);
    within_watchdog(
        "free while the event callback waits in pinecone_node_recv",
        move || free(pointer),
    );
    let (status, message) = blocker.outcome();
    assert_eq!(status, -1, "the callback's receive fails");
    assert!(message.contains("shut down"), "{message}");
    assert_never_called_again(blocker);
}

#[test]
fn free_returns_while_another_thread_waits_in_recv_with_a_long_timeout() {
    let node = Handle::new(None);
    let pointer = node.0 as usize;
    let receiver = thread::spawn(move || recv_for(pointer, 600_000));
    thread::sleep(SETTLE);

    let started = Instant::now();
    let pointer = into_pointer(node);
    let (status, message) = within_watchdog(
        "free while another thread waits in pinecone_node_recv",
        move || {
            free(pointer);
            receiver.join().unwrap()
        },
    );
    assert_eq!(status, -1);
    assert!(message.contains("shut down"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A conduit handle shared by pump threads, freed when the last goes.
struct Conduit(*mut PineconeConduit);

// SAFETY: the ABI promises every function may be called from any thread.
unsafe impl Send for Conduit {}
// SAFETY: as above.
unsafe impl Sync for Conduit {}

impl Conduit {
    fn new(node: &Handle) -> Conduit {
        // SAFETY: a live handle and NULL for no zone.
        let conduit = unsafe { pinecone_node_conduit_new(node.0, PINECONE_PEER_PIPE, null()) };
        assert!(!conduit.is_null(), "{}", last_error());
        Conduit(conduit)
    }

    fn close(&self) {
        // SAFETY: a live conduit.
        assert_eq!(unsafe { pinecone_conduit_close(self.0) }, 0);
    }
}

impl Drop for Conduit {
    fn drop(&mut self) {
        // SAFETY: made by `pinecone_node_conduit_new`, freed only here.
        unsafe { pinecone_conduit_free(self.0) }
    }
}

/// Copies what `from`'s node sends into `to`'s node until `from` ends or
/// `to` refuses; the last status read from `from`.
fn pump(from: Arc<Conduit>, to: Arc<Conduit>) -> JoinHandle<i64> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: a live conduit and `buf.len()` writable bytes.
            let len = unsafe { pinecone_conduit_read(from.0, buf.as_mut_ptr(), buf.len(), -1) };
            let Ok(moved) = usize::try_from(len) else {
                return len;
            };
            // SAFETY: a live conduit and `moved` readable bytes.
            if moved == 0 || unsafe { pinecone_conduit_write(to.0, buf.as_ptr(), moved) } != 0 {
                return len;
            }
        }
    })
}

#[test]
fn shutdown_ends_a_blocked_conduit_read() {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let a_side = Arc::new(Conduit::new(&a));
    let b_side = Arc::new(Conduit::new(&b));
    let from_a = pump(Arc::clone(&a_side), Arc::clone(&b_side));
    let from_b = pump(Arc::clone(&b_side), Arc::clone(&a_side));
    wait_for("the conduits to peer", || {
        a.peer_count() == 1 && b.peer_count() == 1
    });
    thread::sleep(SETTLE);

    let pointer = a.0 as usize;
    let (status, last_read) = within_watchdog(
        "shutdown while another thread waits in pinecone_conduit_read",
        move || (shutdown(pointer), from_a.join().unwrap()),
    );
    assert_eq!(status, 0, "{}", last_error());
    assert_eq!(last_read, 0, "the read sees the peering end");
    b_side.close();
    from_b.join().unwrap();
}

#[test]
fn shutdown_ends_a_conduit_read_in_the_callback() {
    let node = Handle::new(None);
    let conduit = Conduit::new(&node);
    let (blocker, _other) = block_callback(&node, conduit.0 as usize, read_conduit_to_end);

    let pointer = node.0 as usize;
    let started = Instant::now();
    let status = within_watchdog(
        "shutdown while the event callback waits in pinecone_conduit_read",
        move || shutdown(pointer),
    );
    let took = started.elapsed();
    assert_eq!(status, 0, "{}", last_error());
    assert!(
        took < Duration::from_secs(3),
        "shutdown waited {took:?}, for the handshake deadline"
    );
    let (last_read, message) = blocker.outcome();
    assert_eq!(last_read, 0, "the read sees the handshake end: {message}");
    assert_never_called_again(blocker);
    // The conduit stays valid after its node has gone.
    drop(node);
    drop(conduit);
}

#[test]
fn shutdown_then_free_from_other_threads_while_the_callback_waits() {
    let node = Handle::new(None);
    let (blocker, _other) = block_callback(&node, node.0 as usize, recv_forever);

    let pointer = into_pointer(node);
    let (status, outcome_at_shutdown) = within_watchdog(
        "shutdown, then free on another thread, while the event callback waits",
        move || {
            let shut = thread::spawn(move || shutdown(pointer)).join().unwrap();
            let outcome = blocker.outcome.lock().unwrap().clone();
            thread::spawn(move || free(pointer)).join().unwrap();
            (shut, outcome)
        },
    );
    assert_eq!(status, 0);
    let (received, message) = outcome_at_shutdown.expect("shutdown returned before the callback");
    assert_eq!(received, -1);
    assert!(message.contains("shut down"), "{message}");
    assert_never_called_again(blocker);
}

/// Counts its calls in the `AtomicUsize` given as user data.
unsafe extern "C" fn count_calls(_event: *const PineconeEvent, user_data: *mut c_void) {
    // SAFETY: the user data is a leaked `AtomicUsize`.
    unsafe { &*(user_data as *const AtomicUsize) }.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_callback_replaced_during_free_is_never_called() {
    let node = Handle::new(None);
    let (blocker, _other) = block_callback(&node, node.0 as usize, recv_forever);

    // Replacing a running callback waits for it: here, until free wakes
    // its receive.
    let replacement_calls: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let pointer = into_pointer(node);
    let replacing = thread::spawn(move || {
        let user_data = replacement_calls as *const AtomicUsize as *mut c_void;
        // SAFETY: the node is live until free, which waits for this call.
        let status = unsafe {
            pinecone_node_set_event_callback(
                pointer as *mut PineconeNode,
                Some(count_calls),
                user_data,
            )
        };
        (status, last_error())
    });
    thread::sleep(SETTLE);

    let (status, message) = within_watchdog(
        "free while another thread replaces the waiting event callback",
        move || {
            free(pointer);
            replacing.join().unwrap()
        },
    );
    assert_eq!(status, -1, "a callback set once teardown began is refused");
    assert!(message.contains("shut down"), "{message}");
    assert_eq!(replacement_calls.load(Ordering::SeqCst), 0);
    assert_never_called_again(blocker);
}

#[test]
fn free_ends_a_handshake_waiting_on_a_silent_peer() {
    let node = Handle::new(None);
    let (ours, silent) = UnixStream::pair().unwrap();
    let fd: RawFd = ours.into_raw_fd();
    let pointer = node.0 as usize;
    let attaching = thread::spawn(move || {
        // SAFETY: the node is live until free, which waits for this call;
        // `fd` is ours to hand over.
        let status = unsafe {
            pinecone_node_attach_fd(
                pointer as *mut PineconeNode,
                fd,
                PINECONE_PEER_REMOTE,
                null(),
            )
        };
        (status, last_error())
    });
    thread::sleep(SETTLE);

    let started = Instant::now();
    let pointer = into_pointer(node);
    let (status, message) = within_watchdog(
        "free while another thread waits in pinecone_node_attach_fd",
        move || {
            free(pointer);
            attaching.join().unwrap()
        },
    );
    let took = started.elapsed();
    assert_eq!(status, -1, "the handshake fails");
    assert!(!message.is_empty());
    assert!(
        took < Duration::from_secs(3),
        "free waited {took:?}, for the handshake deadline"
    );
    // On failure the caller still owns the descriptor.
    // SAFETY: `fd` stayed ours, as the failure says.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    drop(silent);
}
