//! Making, identifying and releasing nodes.

use std::ffi::{c_char, c_int};

use pinecone_transports::{Node, NodeConfig};

use crate::boundary::{read_32, run, write_32};
use crate::handle::{enter, enter_to_shut_down, PineconeNode};

/// Starts a node. Its ed25519 key comes from the 32-byte `seed32`, or is
/// random when `seed32` is NULL. The node has no listeners and no peers
/// yet. Returns NULL on failure.
///
/// # Safety
///
/// `seed32` is NULL or points to 32 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_new(seed32: *const u8) -> *mut PineconeNode {
    run(std::ptr::null_mut(), || {
        let config = NodeConfig::default();
        let node = if seed32.is_null() {
            Node::random(config)?
        } else {
            // SAFETY: not NULL; the caller promises 32 readable bytes.
            Node::start(unsafe { read_32(seed32, "seed32") }?, config)?
        };
        Ok(Box::into_raw(Box::new(PineconeNode::new(node))))
    })
}

/// Shuts the node down (as `pinecone_node_shutdown`), waits until no
/// call on it is running any more, and releases it. Calls blocked on it
/// on other threads, such as `pinecone_node_recv`, are woken by the
/// shutdown and fail; this returns once they have returned, and so has a
/// running event callback, which is never called again. NULL does
/// nothing. Called from the node's own event callback it records an error
/// and does nothing.
///
/// The safe order to end a node that other threads use: call
/// `pinecone_node_shutdown`, which wakes them all; let those threads see
/// their calls fail and join them; then call `pinecone_node_free`. Freeing
/// while another thread is still inside a call is safe too (this waits
/// for it), but no call may start once this has begun, which only joining
/// the threads first can promise.
///
/// # Safety
///
/// `node` is NULL or came from `pinecone_node_new` and was not freed yet;
/// no call on it may start once this has begun.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_free(node: *mut PineconeNode) {
    if node.is_null() {
        return;
    }
    run((), || {
        // SAFETY: not NULL; the caller promises a live handle that nothing
        // frees concurrently.
        let handle = unsafe { &*node };
        handle.close()?;
        // SAFETY: the pointer came from `Box::into_raw` in
        // `pinecone_node_new`; `close` returned, so no call still borrows it.
        drop(unsafe { Box::from_raw(node) });
        Ok(())
    })
}

/// Shuts the node down without releasing the handle, in this order:
/// every later call on it fails and the event callback is called no more;
/// calls blocked on it are woken and fail (receivers in
/// `pinecone_node_recv`, handshakes in `pinecone_node_attach_fd`), every
/// listener and peering closes (readers of its conduits see the end:
/// `pinecone_conduit_read` returns 0), the node stops; then this waits for
/// an event callback still running, which the above has woken if it was
/// blocked in a call on the node, and stops the event thread. Once this
/// returns, the callback is never called again. Waking blocked calls
/// does not wait for them to return: `pinecone_node_free` does.
///
/// The safe order to end a node that other threads use: shut it down with
/// this, join the threads that call it (their calls now fail at once),
/// then `pinecone_node_free`.
///
/// Returns 0 once the node is stopped (also when it was already shut
/// down, or when another thread is shutting it down: then once that has
/// finished), or -1 on failure: `node` NULL, or a call from the node's
/// own event callback, which it would wait for.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_shutdown(node: *mut PineconeNode) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle; counted as a
        // call, so that `free` waits for it.
        let call = unsafe { enter_to_shut_down(node) }?;
        call.shutdown()?;
        Ok(0)
    })
}

/// Writes the node's 32-byte public key to `out32`. Does nothing but
/// record an error when `node` or `out32` is NULL.
///
/// # Safety
///
/// `node` is NULL or a live handle; `out32` is NULL or points to 32
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_public_key(node: *const PineconeNode, out32: *mut u8) {
    run((), || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let key = call.node().public_key();
        // SAFETY: the caller promises NULL or 32 writable bytes.
        unsafe { write_32(out32, &key.0, "out32") }
    })
}

/// The library's version, e.g. "0.1.0", as a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn pinecone_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The package version with a terminating NUL.
const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(version) => version,
    Err(_) => panic!("the package version contains a NUL"),
};
