//! Removing static peers: the URIs `pinecone_node_connect` keeps
//! connected.

use std::ffi::c_char;

use crate::boundary::{read_str, run};
use crate::handle::{enter, PineconeNode};

/// Stops keeping `uri` connected as a static peer (any spelling of the
/// address given to `pinecone_node_connect`: "host:port" and
/// "tcp://host:port" are the same peer) and closes its peerings. Returns
/// how many static peers were removed (1, or 0 when `uri` is not one), or
/// -1 on failure: a NULL or malformed URI, the node shut down. A dial
/// under way is abandoned, and a peering it still brings up is closed.
///
/// # Safety
///
/// `node` is NULL or a live handle; `uri` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_remove_static_peer(
    node: *mut PineconeNode,
    uri: *const c_char,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let uri = unsafe { read_str(uri, "uri") }?;
        Ok(i64::try_from(call.node().remove_static_peer(uri)?)?)
    })
}

/// Stops keeping every static peer connected and closes their peerings
/// (what Dendrite does before it sets new static peers). Returns how many
/// static peers were removed, or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_remove_static_peers(node: *mut PineconeNode) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        Ok(i64::try_from(call.node().remove_static_peers()?)?)
    })
}
