//! What the forwarding plane hands to the control plane and to the local
//! application.

use crate::control::Port;
use crate::wire::{Coords, PublicKey, TrafficFrame};

/// A protocol frame (keepalive, announcement, bootstrap, broadcast)
/// received on a peering, for the control plane's
/// [`Router::handle_frame`](crate::control::Router::handle_frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFrame {
    /// The peering's port.
    pub port: Port,
    /// The whole frame.
    pub frame: Vec<u8>,
}

/// A datagram addressed to this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDelivery {
    /// The sender's key.
    pub source: PublicKey,
    /// The sender's coordinates as the frame carries them, for the
    /// coordinates cache.
    pub source_coords: Coords,
    /// The application payload.
    pub payload: Vec<u8>,
}

impl LocalDelivery {
    /// Copies the parts of `frame` the application needs.
    pub(crate) fn of(frame: &TrafficFrame<'_>) -> LocalDelivery {
        LocalDelivery {
            source: frame.src_key(),
            source_coords: frame.src_coords().to_coords(),
            payload: frame.payload().to_vec(),
        }
    }
}
