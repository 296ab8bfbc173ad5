//! What the control thread and an I/O driver tell each other.

use std::fmt;
use std::io;

use pinecone_engine::forward::{PeeringError, PortLease};

use crate::peering::PeerStream;
use crate::websocket::codec::FrameError;

/// Names one peering for its whole life, unlike its port, which the
/// router reuses once the peering is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeeringId(pub(crate) u64);

/// An instruction from the control thread to a driver.
#[derive(Debug)]
pub(crate) enum DriverCommand {
    /// Take over `stream`, the peering the router put on the lease's port.
    Attach {
        /// The peering.
        id: PeeringId,
        /// Its port, to publish where it lives with.
        lease: PortLease,
        /// Its connected stream.
        stream: PeerStream,
    },
    /// Close a peering the router removed.
    Detach(PeeringId),
}

/// What a driver reports to the control thread.
#[derive(Debug)]
pub(crate) enum DriverReport {
    /// The peering is attached: protocol frames for its port can be sent.
    Attached(PeeringId),
    /// The driver closed the peering.
    Closed {
        /// The peering.
        id: PeeringId,
        /// Why.
        reason: CloseReason,
    },
}

/// Why a driver closed a peering.
#[derive(Debug)]
pub(crate) enum CloseReason {
    /// The peer closed its end.
    EndOfStream,
    /// Reading or writing failed.
    Io(io::Error),
    /// The forwarding plane found the peering broken.
    Broken(PeeringError),
    /// An accepted WebSocket's client broke the framing.
    WebSocket(FrameError),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::EndOfStream => f.write_str("the peer closed the connection"),
            CloseReason::Io(error) => write!(f, "I/O error: {error}"),
            CloseReason::Broken(error) => write!(f, "{error}"),
            CloseReason::WebSocket(error) => write!(f, "WebSocket framing: {error}"),
        }
    }
}
