//! The object behind a `pinecone_node *`: the node plus the bookkeeping
//! that lets [`pinecone_node_free`](crate::pinecone_node_free) run while
//! other threads are still inside calls on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use pinecone_transports::Node;

use crate::boundary::{non_null, Failure};

/// An opaque node handle (`pinecone_node` in C).
pub struct PineconeNode {
    node: Node,
    /// Set once `free` has begun: calls from then on fail.
    closing: AtomicBool,
    /// How many calls are running on this handle.
    calls: Mutex<usize>,
    /// Signalled when `calls` drops to zero.
    idle: Condvar,
}

impl PineconeNode {
    /// A handle around a running node.
    pub(crate) fn new(node: Node) -> PineconeNode {
        PineconeNode {
            node,
            closing: AtomicBool::new(false),
            calls: Mutex::new(0),
            idle: Condvar::new(),
        }
    }

    /// Whether `free` has begun.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Marks the handle as closing and shuts the node down, which wakes
    /// every blocked receiver; then waits until every running call has
    /// returned, so that the handle may be released.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.node.shutdown();
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        while *calls > 0 {
            calls = self
                .idle
                .wait(calls)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// One running call on a handle: counted from [`enter`] until dropped.
pub(crate) struct Call<'a> {
    handle: &'a PineconeNode,
}

impl Call<'_> {
    /// The node the call is on.
    pub(crate) fn node(&self) -> &Node {
        &self.handle.node
    }

    /// The handle the call is on.
    pub(crate) fn handle(&self) -> &PineconeNode {
        self.handle
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        let mut calls = self
            .handle
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *calls -= 1;
        // Only `close` waits, and it sets `closing` before taking the lock;
        // notifying costs a system call, so skip it otherwise.
        if *calls == 0 && self.handle.is_closing() {
            self.handle.idle.notify_all();
        }
    }
}

/// Starts a call on the handle at `pointer`; fails when it is NULL or
/// being freed.
///
/// # Safety
///
/// `pointer` is NULL or came from `pinecone_node_new`, and `free` on it
/// has not returned.
pub(crate) unsafe fn enter<'a>(pointer: *const PineconeNode) -> Result<Call<'a>, Failure> {
    non_null(pointer, "node")?;
    // SAFETY: not NULL (checked above); the caller promises a live handle,
    // and `free` does not release it while this call is counted.
    let handle = unsafe { &*pointer };
    *handle.calls.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    let call = Call { handle };
    if handle.is_closing() {
        return Err(Failure("the node is shut down".to_owned()));
    }
    Ok(call)
}
