//! Errors of the forwarding plane.

use thiserror::Error;

use super::counters::DropCause;
use crate::wire::ParseError;

/// Why a worker marked a peering broken. The I/O driver closes it and
/// tells the control plane; every other peering carries on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PeeringError {
    /// The byte stream cannot be split into frames.
    #[error("broken framing: {0}")]
    Framing(ParseError),
    /// A whole frame is malformed.
    #[error("malformed frame: {0}")]
    MalformedFrame(ParseError),
    /// Protocol frames piled up past the protocol lane's bound: the peer is
    /// not reading.
    #[error("{queued} bytes of protocol frames not written: the peer is not reading")]
    ProtocolBacklog {
        /// Bytes waiting when the bound was reached.
        queued: usize,
    },
}

/// Why [`Fabric::send_protocol`](super::Fabric::send_protocol) could not
/// queue a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolSendError {
    /// No worker has a peering on that port.
    #[error("no peering on that port")]
    UnknownPort,
    /// The owning worker's queue of protocol frames is full; the frame is
    /// handed back to be sent again later.
    #[error("the worker's protocol queue is full")]
    QueueFull(Vec<u8>),
}

/// Why [`Fabric::send_local`](super::Fabric::send_local) did not send a
/// frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LocalSendError {
    /// The bytes are not one well-formed frame.
    #[error("malformed frame: {0}")]
    Malformed(#[from] ParseError),
    /// The frame is not a traffic frame.
    #[error("not a traffic frame")]
    NotTraffic,
    /// Routing or a full queue dropped it.
    #[error("dropped: {0:?}")]
    Dropped(DropCause),
}
