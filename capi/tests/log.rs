//! The log callback: the library's records reach the host with their
//! level, target and fields; the level filters; removing the callback
//! stops them at once; the callback cannot replace itself. One test,
//! because the callback is process-wide.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError};

use pinecone::*;
use support::*;

mod support;

/// What the callback received: level, target, message.
static RECORDS: Mutex<Vec<(c_int, String, String)>> = Mutex::new(Vec::new());

/// What a call of `pinecone_set_log_callback` from inside the callback
/// answered (1 until it ran).
static REENTRANT_ANSWER: AtomicI32 = AtomicI32::new(1);

/// The user data given with the callback.
const USER_DATA: usize = 0x5eed;

fn records() -> Vec<(c_int, String, String)> {
    RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

unsafe extern "C" fn collect(
    level: c_int,
    target: *const c_char,
    message: *const c_char,
    user_data: *mut c_void,
) {
    assert_eq!(user_data as usize, USER_DATA);
    // SAFETY: the library passes NUL-terminated strings valid during the
    // call.
    let (target, message) = unsafe { (CStr::from_ptr(target), CStr::from_ptr(message)) };
    let record = (
        level,
        target.to_str().unwrap().to_owned(),
        message.to_str().unwrap().to_owned(),
    );
    RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(record);
}

unsafe extern "C" fn try_to_replace_itself(
    _: c_int,
    _: *const c_char,
    _: *const c_char,
    _: *mut c_void,
) {
    // SAFETY: NULL removes the callback, which this call may not do.
    let answer = unsafe { pinecone_set_log_callback(None, PINECONE_LOG_OFF, null_mut()) };
    REENTRANT_ANSWER.store(answer, Ordering::SeqCst);
}

fn set(callback: PineconeLogFn, level: c_int) -> c_int {
    // SAFETY: the callbacks above are thread-safe and take this user data.
    unsafe { pinecone_set_log_callback(callback, level, USER_DATA as *mut c_void) }
}

#[test]
fn library_logs_reach_the_callback_until_it_is_removed() {
    assert_eq!(set(Some(collect), 6), -1);
    assert!(last_error().contains("log level"), "{}", last_error());
    assert_eq!(set(Some(collect), PINECONE_LOG_INFO), 0, "{}", last_error());

    let (a, b) = peered_pair();
    wait_for("a record of the new peering", || {
        records().iter().any(|(level, target, message)| {
            *level == PINECONE_LOG_INFO
                && target.starts_with("pinecone_transports")
                && message.starts_with("peering added")
                && message.contains(" port=")
        })
    });
    assert!(
        records().iter().all(|(level, ..)| (1..=3).contains(level)),
        "nothing above the level set"
    );

    // Removing it stops the records from the moment it returns.
    assert_eq!(set(None, PINECONE_LOG_INFO), 0);
    RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    // SAFETY: a live handle and a C string.
    let disconnected = unsafe { pinecone_node_disconnect_zone(a.0, c"".as_ptr()) };
    assert_eq!(disconnected, 1);
    wait_for("b to lose its peer", || b.peer_count() == 0);
    drop((a, b));
    assert!(records().is_empty(), "{:?}", records());

    // The callback may not replace itself.
    assert_eq!(set(Some(try_to_replace_itself), PINECONE_LOG_INFO), 0);
    let c = Handle::new(None);
    c.listen();
    wait_for("the callback to run", || {
        REENTRANT_ANSWER.load(Ordering::SeqCst) != 1
    });
    assert_eq!(REENTRANT_ANSWER.load(Ordering::SeqCst), -1);
    assert_eq!(set(None, PINECONE_LOG_OFF), 0);
}
