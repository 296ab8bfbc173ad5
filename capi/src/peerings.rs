//! Bringing peers in: listening, dialling, counting.

use std::ffi::{c_char, c_int};

use crate::boundary::{read_str, run, write_bytes, Failure};
use crate::handle::{enter, PineconeNode};

/// Writes `address` NUL-terminated into the `len` bytes at `bound`.
///
/// # Safety
///
/// `bound` is NULL or points to `len` writable bytes.
unsafe fn write_address(address: &str, bound: *mut c_char, len: usize) -> Result<(), Failure> {
    // SAFETY: the caller promises NULL or `len` writable bytes.
    let out = unsafe { write_bytes(bound.cast::<u8>(), len, "bound") }?;
    if out.len() <= address.len() {
        return Err(Failure(format!(
            "bound holds {} bytes; {address:?} needs {}",
            out.len(),
            address.len() + 1
        )));
    }
    out[..address.len()].copy_from_slice(address.as_bytes());
    out[address.len()] = 0;
    Ok(())
}

/// Listens for TCP peers on `addr` ("ip:port"; port 0 picks one) and writes
/// the address bound, "ip:port" and NUL-terminated, into `bound`, which
/// holds `bound_len` bytes. `bound` may be NULL when `bound_len` is 0.
/// Returns 0, or -1 on failure (including a `bound` too small for the
/// address, in which case the listener stays open).
///
/// # Safety
///
/// `node` is NULL or a live handle; `addr` is NULL or a NUL-terminated
/// string; `bound` is NULL or points to `bound_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_listen_tcp(
    node: *mut PineconeNode,
    addr: *const c_char,
    bound: *mut c_char,
    bound_len: usize,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let addr = unsafe { read_str(addr, "addr") }?;
        let address = call.node().listen_tcp(addr)?.to_string();
        // SAFETY: the caller promises NULL or `bound_len` writable bytes.
        unsafe { write_address(&address, bound, bound_len) }?;
        Ok(0)
    })
}

/// Listens for WebSocket peers (`ws://`) on `addr` ("ip:port"; port 0
/// picks one), accepting them at any path, and writes the address bound
/// into `bound` exactly as `pinecone_node_listen_tcp` does. Accepted
/// peerings have the zone "websocket". Returns 0, or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle; `addr` is NULL or a NUL-terminated
/// string; `bound` is NULL or points to `bound_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_listen_ws(
    node: *mut PineconeNode,
    addr: *const c_char,
    bound: *mut c_char,
    bound_len: usize,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let addr = unsafe { read_str(addr, "addr") }?;
        let address = call.node().listen_ws(addr, false)?.to_string();
        // SAFETY: the caller promises NULL or `bound_len` writable bytes.
        unsafe { write_address(&address, bound, bound_len) }?;
        Ok(0)
    })
}

/// Keeps `uri` ("host:port", "tcp://host:port", "ws://..." or "wss://...")
/// connected as a static peer, redialling with backoff whenever the
/// peering drops. Returns 0 once the peer is registered (not once it is
/// connected), or -1 on failure such as a malformed URI.
///
/// # Safety
///
/// `node` is NULL or a live handle; `uri` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_connect(
    node: *mut PineconeNode,
    uri: *const c_char,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let uri = unsafe { read_str(uri, "uri") }?;
        call.node().connect(uri)?;
        Ok(0)
    })
}

/// The number of peerings the node has now; 0 when `node` is NULL or shut
/// down (with the reason in `pinecone_last_error`).
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_peer_count(node: *const PineconeNode) -> usize {
    run(0, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        Ok(call.node().peers()?.len())
    })
}

/// Any medium, for `pinecone_node_peer_count_by_type`.
pub const PINECONE_PEER_ANY: c_int = -1;

/// How many distinct peer keys the node has peerings with over the medium
/// `peer_type` (a `PINECONE_PEER_*` number), or over any medium with
/// `PINECONE_PEER_ANY` (-1). Several peerings with one key count once, as
/// the reference's `PeerCount` counts. Returns the count, or -1 on
/// failure (a bad peer type, the node shut down).
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_peer_count_by_type(
    node: *const PineconeNode,
    peer_type: c_int,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let medium = match peer_type {
            PINECONE_PEER_ANY => None,
            number => Some(crate::peer_types::peer_type(number)?),
        };
        Ok(i64::try_from(call.node().peer_count_by_type(medium)?)?)
    })
}
