//! Errors of the [`Node`](super::Node) handle.

use std::io;

use pinecone_engine::control::SendError;
use thiserror::Error;

use super::limits::PeerRefusal;
use crate::handshake::HandshakeFailure;
use crate::uri::UriError;

/// Why a [`Node`](super::Node) call failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The node was shut down.
    #[error("the node is shut down")]
    Stopped,
    /// The URI is not one a node can dial.
    #[error("bad peer URI: {0}")]
    Uri(#[from] UriError),
    /// The datagram could not be sent.
    #[error("{0}")]
    Send(#[from] SendError),
    /// The handshake on an attached stream failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeFailure),
    /// The peering was refused at a limit (see
    /// [`PeerLimits`](super::PeerLimits)).
    #[error("peering refused: {0}")]
    Refused(PeerRefusal),
    /// A socket or thread could not be set up.
    #[error("{0}")]
    Io(#[from] io::Error),
}
