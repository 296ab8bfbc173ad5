//! Looking inside a node: its state dump, its peerings, its coordinates.
//!
//! Each function answers the same way: it writes the whole answer into the
//! caller's buffer when it fits and returns how many units (bytes,
//! including the terminating NUL, or coordinates) the whole answer has,
//! whether or not it fitted. A result larger than the buffer's capacity
//! means nothing was written: call again with a buffer at least that
//! large (the answer may have grown meanwhile, so loop).

use std::ffi::c_char;

use pinecone_engine::control::PeerSummary;
use serde_json::{json, Value};

use crate::boundary::{answer_into, run};
use crate::handle::{enter, PineconeNode};

/// `text` as the bytes of a C string.
fn c_text(text: String) -> Vec<u8> {
    // JSON escapes NUL, so the text holds none.
    let mut bytes = text.into_bytes();
    bytes.push(0);
    bytes
}

/// One peering as a JSON object.
fn peer_json(peer: &PeerSummary) -> Value {
    json!({
        "port": peer.port,
        "key": peer.key.to_string(),
        "peer_type": peer.peer_type as u8,
        "zone": peer.zone,
        "uri": peer.uri,
        "coords": peer.coords.as_ref().map(|coords| &coords.0),
        "root": peer.root.map(|(key, seq)| json!({"key": key.to_string(), "seq": seq})),
        "is_parent": peer.is_parent,
        "bytes": {
            "rx_proto": peer.bytes.rx_proto,
            "tx_proto": peer.bytes.tx_proto,
            "rx_traffic": peer.bytes.rx_traffic,
            "tx_traffic": peer.bytes.tx_traffic,
        },
    })
}

/// Writes the node's state dump, a JSON object with the fields of the
/// reference implementation's manhole, as a NUL-terminated string into
/// `buf` (`cap` bytes) when it fits. Returns the bytes the whole string
/// needs, NUL included (nothing was written when that is more than `cap`;
/// `buf` may be NULL with `cap` 0 to ask), or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle; `buf` is NULL or points to `cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_state_json(
    node: *mut PineconeNode,
    buf: *mut c_char,
    cap: usize,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let text = c_text(call.node().state_dump_json()?);
        // SAFETY: the caller promises NULL or `cap` writable bytes.
        unsafe { answer_into(buf.cast::<u8>(), cap, &text, "buf") }
    })
}

/// Writes the node's peerings, a JSON array in port order, as a
/// NUL-terminated string into `buf` (`cap` bytes) when it fits. Each
/// element has `"port"`, `"key"` (lowercase hex), `"peer_type"` (the
/// `PINECONE_PEER_*` number), `"zone"`, `"uri"`, `"coords"` (an array, or
/// null before the peer announced itself), `"root"` (`{"key", "seq"}` or
/// null), `"is_parent"` and `"bytes"` (`rx_proto`, `tx_proto`,
/// `rx_traffic`, `tx_traffic`). Returns the bytes the whole string needs,
/// NUL included (nothing was written when that is more than `cap`; `buf`
/// may be NULL with `cap` 0 to ask), or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle; `buf` is NULL or points to `cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_peers_json(
    node: *mut PineconeNode,
    buf: *mut c_char,
    cap: usize,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let peers: Vec<Value> = call.node().peers()?.iter().map(peer_json).collect();
        let text = c_text(Value::Array(peers).to_string());
        // SAFETY: the caller promises NULL or `cap` writable bytes.
        unsafe { answer_into(buf.cast::<u8>(), cap, &text, "buf") }
    })
}

/// Writes the node's tree coordinates (the ports from the root down to
/// it; none when it is a root) into `out` (`cap` numbers) when they fit.
/// Returns how many there are (nothing was written when that is more than
/// `cap`; `out` may be NULL with `cap` 0 to ask), or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle; `out` is NULL or points to `cap`
/// writable numbers.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_coords(
    node: *mut PineconeNode,
    out: *mut u64,
    cap: usize,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let coords = call.node().coords()?;
        // SAFETY: the caller promises NULL or `cap` writable numbers.
        unsafe { answer_into(out, cap, &coords.0, "out") }
    })
}
