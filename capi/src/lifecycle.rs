//! Making, identifying and releasing nodes.

use std::ffi::{c_char, c_int};

use pinecone_transports::{Node, NodeConfig};

use crate::boundary::{non_null, read_32, run, write_32};
use crate::handle::{enter, PineconeNode};

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

/// Shuts the node down and releases it. Receivers blocked in
/// `pinecone_node_recv` on it wake up and fail; calls already running on
/// other threads return before this does, and so does a running event
/// callback, which is never called again. NULL does nothing. Called from
/// the node's own event callback it records an error and does nothing.
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

/// Shuts the node down without releasing the handle: it stops listening,
/// dialling and peering, receivers blocked in `pinecone_node_recv` wake up
/// and fail, the event callback is removed, and every later call on it
/// fails, until `pinecone_node_free` releases it. Lets one thread wake
/// another's blocked receive before freeing. Returns 0 (also when it was
/// already shut down), or -1 on failure: `node` NULL, or a call from the
/// node's own event callback.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_shutdown(node: *mut PineconeNode) -> c_int {
    run(-1, || {
        non_null(node, "node")?;
        // SAFETY: the caller promises a live handle. Entering fails only
        // when it is already shut down, which is what was asked.
        if let Ok(call) = unsafe { enter(node) } {
            call.shutdown()?;
        }
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
