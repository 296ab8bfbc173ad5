//! Crossing from C into Rust: catching panics, recording failures and
//! reading the caller's pointers.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::set_last_error;

/// Why a call failed, in words for [`pinecone_last_error`](crate::pinecone_last_error).
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

/// Runs `body`; on a failure or a panic records the message and returns
/// `failed` instead.
pub(crate) fn run<T>(failed: T, body: impl FnOnce() -> Result<T, Failure>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(Failure(message))) => {
            set_last_error(&message);
            failed
        }
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_last_error(&format!("internal error: {detail}"));
            failed
        }
    }
}

/// Fails with "`what` is NULL" when `pointer` is NULL.
pub(crate) fn non_null<T>(pointer: *const T, what: &str) -> Result<(), Failure> {
    if pointer.is_null() {
        Err(Failure(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

/// Copies the 32 bytes at `pointer`.
///
/// # Safety
///
/// `pointer` is NULL or points to 32 readable bytes.
pub(crate) unsafe fn read_32(pointer: *const u8, what: &str) -> Result<[u8; 32], Failure> {
    non_null(pointer, what)?;
    let mut bytes = [0u8; 32];
    // SAFETY: not NULL (checked above) and the caller promises 32 readable
    // bytes; `bytes` is a distinct local, so the ranges do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(pointer, bytes.as_mut_ptr(), 32) };
    Ok(bytes)
}

/// Writes `bytes` to the 32 bytes at `pointer`.
///
/// # Safety
///
/// `pointer` is NULL or points to 32 writable bytes.
pub(crate) unsafe fn write_32(
    pointer: *mut u8,
    bytes: &[u8; 32],
    what: &str,
) -> Result<(), Failure> {
    non_null(pointer, what)?;
    // SAFETY: not NULL (checked above) and the caller promises 32 writable
    // bytes that do not overlap our own `bytes`.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), pointer, 32) };
    Ok(())
}

/// The UTF-8 text of the NUL-terminated string at `pointer`.
///
/// # Safety
///
/// `pointer` is NULL or points to a NUL-terminated string that outlives
/// the returned borrow.
pub(crate) unsafe fn read_str<'a>(pointer: *const c_char, what: &str) -> Result<&'a str, Failure> {
    non_null(pointer, what)?;
    // SAFETY: not NULL (checked above); the caller promises a NUL-terminated
    // string that stays put for the borrow.
    let text = unsafe { CStr::from_ptr(pointer) };
    text.to_str()
        .map_err(|_| Failure(format!("{what} is not UTF-8")))
}

/// The `len` bytes at `pointer`; NULL is allowed when `len` is zero.
///
/// # Safety
///
/// `pointer` is NULL or points to `len` readable bytes that outlive the
/// returned borrow.
pub(crate) unsafe fn read_bytes<'a>(
    pointer: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    non_null(pointer, what)?;
    // SAFETY: not NULL (checked above), `len` is not zero, and the caller
    // promises `len` readable bytes that stay put for the borrow.
    Ok(unsafe { std::slice::from_raw_parts(pointer, len) })
}

/// The `len` bytes at `pointer`, to write; NULL is allowed when `len` is
/// zero.
///
/// # Safety
///
/// `pointer` is NULL or points to `len` writable bytes that nothing else
/// touches while the returned borrow lives.
pub(crate) unsafe fn write_bytes<'a>(
    pointer: *mut u8,
    len: usize,
    what: &str,
) -> Result<&'a mut [u8], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    non_null(pointer, what)?;
    // SAFETY: not NULL (checked above), `len` is not zero, and the caller
    // promises `len` writable bytes used by nobody else during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(pointer, len) })
}

/// Answers with a variable-length result the way every such function of
/// the library does: writes `items` to `out`, which holds `cap` of them,
/// only when they all fit, and returns how many the whole answer has
/// either way. `out` may be NULL when `cap` is 0, to ask for the length.
///
/// # Safety
///
/// `out` is NULL or points to `cap` writable items that nothing else
/// touches during the call.
pub(crate) unsafe fn answer_into<T: Copy>(
    out: *mut T,
    cap: usize,
    items: &[T],
    what: &str,
) -> Result<i64, Failure> {
    let needed = i64::try_from(items.len())?;
    if items.len() > cap {
        return Ok(needed);
    }
    if !items.is_empty() {
        non_null(out, what)?;
        // SAFETY: not NULL (checked above); the caller promises `cap` ≥
        // `items.len()` writable items that do not overlap `items`.
        unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    }
    Ok(needed)
}
