//! Datagrams: what the application receives, and the fast path of what
//! it sends.

use pinecone_engine::control::{Millis, SendError};
use pinecone_engine::forward::{DropCause, Fabric, LocalSendError};
use pinecone_engine::wire::{
    Coords, PublicKey, TrafficRepr, Watermark, DEFAULT_HOP_LIMIT, MAX_FRAME_LEN,
};

/// A datagram addressed to this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The sender's key.
    pub source: PublicKey,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Sends `payload` from `source` (this node) to `dest` through the
/// forwarding plane: a SNEK-routed frame from the coordinates of the
/// routing table in use, queued for the worker of the peering the table
/// routes it to, without the control thread.
///
/// `Ok(false)` when the table has no peering for it yet (no route known,
/// or the peering is not attached): nothing was sent and the control
/// thread should be asked (it also knows the coordinates cache). A full queue to the worker drops the datagram
/// (counted against the peering), as a full socket buffer drops one.
pub(crate) fn send_through_fabric(
    fabric: &Fabric,
    source: PublicKey,
    dest: PublicKey,
    payload: &[u8],
    now: Millis,
) -> Result<bool, SendError> {
    let table = fabric.table();
    let repr = TrafficRepr {
        hop_limit: DEFAULT_HOP_LIMIT,
        dest_coords: Coords::ROOT,
        src_coords: table.coords().clone(),
        dest_key: dest,
        src_key: source,
        watermark: Watermark::FRESH,
        payload,
    };
    let len = repr.encoded_len();
    if len > MAX_FRAME_LEN {
        return Err(SendError::TooLarge { len });
    }
    let mut frame = vec![0; len];
    repr.emit(&mut frame)
        .map_err(|_| SendError::TooLarge { len })?;
    match fabric.send_local(&frame, now) {
        Ok(()) | Err(LocalSendError::Dropped(DropCause::CrossingFull)) => Ok(true),
        Err(LocalSendError::Dropped(DropCause::TooLarge)) => Err(SendError::TooLarge { len }),
        // No route or no attached peering yet (a fresh frame from this node
        // meets no other drop): the control thread has the last word.
        Err(_) => Ok(false),
    }
}
