//! Closing peerings: by port, by zone, by medium.

use std::ffi::{c_char, c_int};

use crate::boundary::{read_str, run};
use crate::handle::{enter, PineconeNode};
use crate::peer_types::peer_type;

/// Closes the peering on `port` (as `pinecone_node_peers_json` numbers
/// them). Returns how many peerings were closed (1, or 0 when none is on
/// that port), or -1 on failure. A static peer is redialled.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_disconnect_port(node: *mut PineconeNode, port: u64) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        Ok(i64::from(call.node().disconnect(port)?))
    })
}

/// Closes every peering in `zone` ("static" for the peers given to
/// `pinecone_node_connect`, "websocket" for accepted WebSocket peers, ""
/// for accepted TCP peers, or the zone given to an attach or conduit).
/// Returns how many were closed, or -1 on failure. Static peers are
/// redialled.
///
/// # Safety
///
/// `node` is NULL or a live handle; `zone` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_disconnect_zone(
    node: *mut PineconeNode,
    zone: *const c_char,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let zone = unsafe { read_str(zone, "zone") }?;
        Ok(i64::try_from(call.node().disconnect_zone(zone)?)?)
    })
}

/// Closes every peering over the medium `peer_type` (a `PINECONE_PEER_*`
/// number). Returns how many were closed, or -1 on failure. Static peers
/// are redialled.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_disconnect_peer_type(
    node: *mut PineconeNode,
    peer_type: c_int,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let peer_type = self::peer_type(peer_type)?;
        Ok(i64::try_from(call.node().disconnect_peer_type(peer_type)?)?)
    })
}
