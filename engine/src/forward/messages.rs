//! What the forwarding plane hands to the control plane and to the local
//! application.

use super::control_ledger::ControlCharge;
use crate::control::Port;
use crate::wire::{Coords, PublicKey, TrafficFrame};

/// A protocol frame (keepalive, announcement, bootstrap, broadcast)
/// received on a peering, for the control plane's
/// [`Router::handle_frame`](crate::control::Router::handle_frame).
///
/// Its bytes stay charged to its peering, and to the fabric's total, until
/// it is dropped: drop it once handled. While a peering's frames hold
/// [`ForwardConfig::control_bytes_per_peering`](super::ForwardConfig::control_bytes_per_peering)
/// bytes, its worker reads nothing more from it; dropping them wakes the
/// worker.
#[derive(Debug)]
pub struct ControlFrame {
    /// The peering's port.
    pub port: Port,
    /// The whole frame.
    pub frame: Vec<u8>,
    charge: ControlCharge,
}

impl ControlFrame {
    /// A frame received on `port`, holding `charge`.
    pub(crate) fn new(port: Port, frame: Vec<u8>, charge: ControlCharge) -> ControlFrame {
        ControlFrame {
            port,
            frame,
            charge,
        }
    }

    /// Gives its bytes back now, waking every waiting worker but `except`.
    pub(crate) fn release(&mut self, except: Option<usize>) {
        self.charge.release(except);
    }

    /// The bytes it holds against its peering.
    pub(crate) fn charge(&self) -> &ControlCharge {
        &self.charge
    }
}

impl PartialEq for ControlFrame {
    fn eq(&self, other: &Self) -> bool {
        self.port == other.port && self.frame == other.frame
    }
}

impl Eq for ControlFrame {}

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
