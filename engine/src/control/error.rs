//! Errors returned by the state machine.

use thiserror::Error;

use super::table::DropReason;
use crate::wire::{AnnouncementError, ParseError};

/// Why a peering was closed because of what the peer sent.
///
/// Returned by [`Router::handle_frame`](super::Router::handle_frame); by
/// then the peer has been removed and only its connection needs closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PeerError {
    /// The bytes are not a well-formed frame.
    #[error("malformed frame: {0}")]
    Malformed(#[from] ParseError),
    /// A tree announcement failed its signature or tree checks.
    #[error("bad tree announcement: {0}")]
    BadAnnouncement(#[from] AnnouncementError),
    /// A tree announcement carries a lower root sequence than the peer's
    /// previous one for the same root.
    #[error("tree announcement replays an old root sequence")]
    Replay,
    /// A wakeup broadcast's payload is malformed or badly signed.
    #[error("bad wakeup broadcast: {0}")]
    BadBroadcast(#[from] BroadcastError),
    /// A bootstrap's payload is malformed or badly signed. Every node
    /// checks a bootstrap's signature before forwarding it, so only the
    /// direct peer can have sent it.
    #[error("bad bootstrap: {0}")]
    BadBootstrap(#[from] BootstrapError),
    /// No peer is attached to that port.
    #[error("no peer on that port")]
    UnknownPort,
}

/// Why a wakeup broadcast was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BroadcastError {
    /// The signed payload is malformed.
    #[error("malformed payload: {0}")]
    Malformed(#[from] ParseError),
    /// The payload's signature is not the source key's.
    #[error("signature does not verify against the source key")]
    BadSignature,
}

/// Why a bootstrap was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BootstrapError {
    /// The signed payload is malformed.
    #[error("malformed payload: {0}")]
    Malformed(#[from] ParseError),
    /// The payload's signature is not the destination key's.
    #[error("signature does not verify against the bootstrapping key")]
    BadSignature,
}

/// Why [`Router::send`](super::Router::send) could not send a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SendError {
    /// The datagram does not fit in one traffic frame.
    #[error("a {len}-byte frame exceeds the 65535-byte frame limit")]
    TooLarge {
        /// Length the frame would have had.
        len: usize,
    },
    /// Routing found nowhere to send the frame.
    #[error("not sent: {0}")]
    NoRoute(DropReason),
}
