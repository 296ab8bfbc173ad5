//! What the state machine hands back to its caller: frames to write,
//! datagrams for the application, and observable events.

use super::error::PeerError;
use super::peers::{PeerType, Port};
use super::time::Millis;
use crate::wire::{Coords, PublicKey};

/// A frame to write on a peering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The peering's port.
    pub port: Port,
    /// One whole frame.
    pub frame: Vec<u8>,
}

/// A datagram addressed to this node, for the local application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The sender's public key.
    pub source: PublicKey,
    /// The application payload.
    pub payload: Vec<u8>,
}

/// Why a peer was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// The caller removed it (its connection closed).
    Disconnected,
    /// It sent something that breaks the peering.
    Error(PeerError),
    /// Nothing was received from it for 5 seconds.
    Timeout,
}

impl std::fmt::Display for RemovalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemovalReason::Disconnected => f.write_str("disconnected"),
            RemovalReason::Error(error) => write!(f, "{error}"),
            RemovalReason::Timeout => f.write_str("nothing received for 5 seconds"),
        }
    }
}

/// Something observable that happened in the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A peering was attached to a port.
    PeerAdded {
        /// Its port.
        port: Port,
        /// The peer's key.
        key: PublicKey,
        /// Its medium.
        peer_type: PeerType,
        /// Its zone (for multicast peerings, the interface's name).
        zone: String,
    },
    /// A peering was removed. When `reason` is not
    /// [`RemovalReason::Disconnected`] the caller must close its connection.
    PeerRemoved {
        /// Its port (free for reuse from now on).
        port: Port,
        /// The peer's key.
        key: PublicKey,
        /// Why it was removed.
        reason: RemovalReason,
    },
    /// The spanning-tree parent changed (`None`: this node is a root).
    ParentChanged {
        /// The new parent's port and key.
        parent: Option<(Port, PublicKey)>,
    },
    /// The SNEK descending node (next key down) changed.
    DescendingChanged {
        /// Its key, if there is one.
        key: Option<PublicKey>,
    },
    /// This node (re)sent its root announcement to all peers.
    RootAnnouncementChanged {
        /// The root key followed.
        root: PublicKey,
        /// The root sequence followed.
        seq: u64,
        /// This node's coordinates under it.
        coords: Coords,
        /// When the announcement was made (own) or received from the parent.
        at: Millis,
    },
    /// A SNEK path entry appeared, or moved to another source port.
    PathAdded {
        /// The bootstrapping node's key.
        key: PublicKey,
        /// The port its bootstrap came from.
        source: Port,
    },
    /// A SNEK path entry expired or its peering went away.
    PathRemoved {
        /// The bootstrapping node's key.
        key: PublicKey,
    },
    /// A wakeup broadcast from a new or returning node was accepted.
    BroadcastReceived {
        /// The broadcasting node's key.
        key: PublicKey,
        /// When it was received.
        at: Millis,
    },
    /// An end-to-end session (one QUIC connection for one protocol) with
    /// another node was established. Raised by the session endpoint of a
    /// node that runs one, never by the state machine.
    SessionOpened {
        /// The other node's key, authenticated by the session's handshake.
        key: PublicKey,
        /// The session's protocol (its ALPN name).
        protocol: String,
        /// Whether this node dialled it.
        outbound: bool,
    },
    /// An end-to-end session ended. Raised by the session endpoint, like
    /// [`Event::SessionOpened`].
    SessionClosed {
        /// The other node's key.
        key: PublicKey,
        /// The session's protocol.
        protocol: String,
        /// Why it ended, in words.
        reason: String,
    },
}
