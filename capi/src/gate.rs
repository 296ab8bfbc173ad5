//! Counting the calls running on a handle, so that the function releasing
//! it can wait until none is left.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::boundary::{non_null, Failure};

/// The calls running on one handle, and whether it is being shut.
#[derive(Debug, Default)]
pub(crate) struct CallGate {
    /// Set once the handle is shut: calls from then on fail.
    closing: AtomicBool,
    /// How many calls are running.
    calls: Mutex<usize>,
    /// Signalled when `calls` drops to zero while closing.
    idle: Condvar,
}

impl CallGate {
    /// Whether the handle is shut.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Shuts the handle: calls from now on fail.
    pub(crate) fn shut(&self) {
        self.closing.store(true, Ordering::Release);
    }

    /// Waits until every running call has returned.
    pub(crate) fn wait_idle(&self) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        while *calls > 0 {
            calls = self
                .idle
                .wait(calls)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn leave(&self) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls -= 1;
        // Only `wait_idle` waits, after `shut`; notifying costs a system
        // call, so skip it otherwise.
        if *calls == 0 && self.is_closing() {
            self.idle.notify_all();
        }
    }
}

/// A handle whose calls a [`CallGate`] counts.
pub(crate) trait Gated {
    /// The handle's gate.
    fn gate(&self) -> &CallGate;
    /// What a failure says when the handle is shut.
    const SHUT: &'static str;
}

/// One running call on a handle: counted from [`enter`] until dropped.
pub(crate) struct Entered<'a, T: Gated> {
    handle: &'a T,
}

impl<T: Gated> Deref for Entered<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.handle
    }
}

impl<T: Gated> Drop for Entered<'_, T> {
    fn drop(&mut self) {
        self.handle.gate().leave();
    }
}

/// Starts a call on the handle at `pointer`, named `what` in failures;
/// fails when it is NULL or shut.
///
/// # Safety
///
/// `pointer` is NULL or points to a live handle that is not released while
/// a call on it is counted.
pub(crate) unsafe fn enter<'a, T: Gated>(
    pointer: *const T,
    what: &str,
) -> Result<Entered<'a, T>, Failure> {
    // SAFETY: as promised by the caller.
    let call = unsafe { enter_even_if_shut(pointer, what) }?;
    if call.gate().is_closing() {
        return Err(Failure(T::SHUT.to_owned()));
    }
    Ok(call)
}

/// Starts a call on the handle at `pointer`, named `what` in failures,
/// also when it is shut: for the calls that shut it, which the function
/// releasing it must wait for too. Fails only when it is NULL.
///
/// # Safety
///
/// `pointer` is NULL or points to a live handle that is not released while
/// a call on it is counted.
pub(crate) unsafe fn enter_even_if_shut<'a, T: Gated>(
    pointer: *const T,
    what: &str,
) -> Result<Entered<'a, T>, Failure> {
    non_null(pointer, what)?;
    // SAFETY: not NULL (checked above); the caller promises a live handle,
    // which is not released while this call is counted.
    let handle = unsafe { &*pointer };
    *handle
        .gate()
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner) += 1;
    Ok(Entered { handle })
}
