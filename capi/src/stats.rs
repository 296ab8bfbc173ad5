//! The node's stats as JSON: everything it counts, summed over its
//! peerings.

use std::ffi::c_char;

use crate::boundary::{answer_into, run};
use crate::handle::{enter, PineconeNode};

/// Writes the node's stats, a JSON object, as a NUL-terminated string into
/// `buf` (`cap` bytes) when it fits. The object has `"peerings"` (counts
/// by peer type), `"forwarding"` (transit traffic, frames and bytes in
/// and out, `"drops"` by cause, and the queues now), `"router"` (protocol
/// frames received and sent by type, `"signatures"` checked and failed,
/// `"root_changes"`, `"parent_changes"` and the control plane's drops),
/// `"tree"` (`"is_root"`, `"depth"`), `"snek_paths"`,
/// `"router_backlog_frames"`, `"connections"` (admitted and refused before
/// any handshake), `"handshakes"` (by outcome), `"peerings_accepted"` and
/// `"peerings_refused"` (at the peering limits) and `"sessions"`
/// (established now, and what the session endpoint refused and dropped).
/// Counters only go up
/// while the node runs; nothing is broken down by peer key. Returns the
/// bytes the whole string needs, NUL included (nothing was written when
/// that is more than `cap`; `buf` may be NULL with `cap` 0 to ask), or -1
/// on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle; `buf` is NULL or points to `cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_stats_json(
    node: *mut PineconeNode,
    buf: *mut c_char,
    cap: usize,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let stats = call.node().stats()?;
        let mut text = serde_json::to_vec(&stats)?;
        // JSON escapes NUL, so the text holds none.
        text.push(0);
        // SAFETY: the caller promises NULL or `cap` writable bytes.
        unsafe { answer_into(buf.cast::<u8>(), cap, &text, "buf") }
    })
}
