//! The message of the last failure on each thread.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    /// The last failure's message on this thread.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last failure.
pub(crate) fn set_last_error(message: &str) {
    // An interior NUL would cut the C string short: show it instead.
    let text = CString::new(message.replace('\0', "\\0"))
        .unwrap_or_else(|_| c"(unprintable error)".to_owned());
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(text));
}

/// The message of the last failure (a -1 or NULL answer) on the calling
/// thread, as a NUL-terminated UTF-8 string; the empty string when nothing
/// on this thread has failed yet. Successful calls leave it unchanged.
///
/// The string belongs to the library and stays valid until the next
/// failure on the same thread; copy it to keep it longer.
#[no_mangle]
pub extern "C" fn pinecone_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| match slot.borrow().as_ref() {
        Some(message) => message.as_ptr(),
        None => c"".as_ptr(),
    })
}
