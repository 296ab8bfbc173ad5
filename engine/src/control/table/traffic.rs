//! Forwarding decisions for traffic frames, and the rewrite they imply.

use super::{NextHop, RoutingTable};
use crate::control::peers::Port;
use crate::control::time::Millis;
use crate::wire::{Coords, EncodeError, TrafficFrame, Watermark};

/// Why a frame was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DropReason {
    /// No node closer to the destination key is known.
    #[error("no route to the destination")]
    Unroutable,
    /// The next hop is the port the frame came from.
    #[error("next hop is where the frame came from")]
    Loop,
    /// Forwarding would make the frame's SNEK watermark worse.
    #[error("watermark would get worse")]
    Watermark,
    /// The hop limit ran out.
    #[error("hop limit reached")]
    HopLimit,
    /// The rewritten frame would exceed the frame size limit.
    #[error("rewritten frame too large")]
    TooLarge,
}

/// What to do with a traffic frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficAction {
    /// It is for this node: hand it to the application (and cache its
    /// source coordinates).
    Deliver,
    /// Send it on.
    Forward(Forwarding),
    /// Drop it.
    Drop(DropReason),
}

/// How to forward a traffic frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarding {
    /// The port to send it out of.
    pub port: Port,
    /// Its hop limit from here on.
    pub hop_limit: u8,
    /// `None` when it keeps its tree route unchanged; otherwise it is SNEK
    /// routed from here on: its destination coordinates are cleared and it
    /// carries this watermark.
    pub snek: Option<Watermark>,
}

impl Forwarding {
    /// Whether the frame goes out byte for byte as it came in, apart from
    /// the hop limit byte.
    fn keeps_layout(&self, frame: &TrafficFrame<'_>) -> bool {
        match self.snek {
            None => true,
            Some(watermark) => {
                frame.dest_coords().is_empty() && frame.wire_watermark() == Some(watermark)
            }
        }
    }

    /// Length of the forwarded frame.
    pub fn encoded_len(&self, frame: &TrafficFrame<'_>, raw: &[u8]) -> usize {
        if self.keeps_layout(frame) {
            return raw.len();
        }
        self.rewritten(frame).encoded_len()
    }

    fn rewritten<'a>(&self, frame: &TrafficFrame<'a>) -> crate::wire::TrafficRepr<'a> {
        let mut repr = frame.to_repr();
        repr.hop_limit = self.hop_limit;
        if let Some(watermark) = self.snek {
            repr.dest_coords = Coords::ROOT;
            repr.watermark = watermark;
        }
        repr
    }

    /// Writes the forwarded frame into `out`, given the received frame's
    /// view and bytes, returning its length.
    pub fn emit(
        &self,
        frame: &TrafficFrame<'_>,
        raw: &[u8],
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        if !self.keeps_layout(frame) {
            return self.rewritten(frame).emit(out);
        }
        let Some(dst) = out.get_mut(..raw.len()) else {
            return Err(EncodeError::BufferTooSmall {
                needed: raw.len(),
                available: out.len(),
            });
        };
        dst.copy_from_slice(raw);
        if let Some(byte) = dst.get_mut(7) {
            *byte = self.hop_limit;
        }
        Ok(raw.len())
    }

    /// The forwarded frame as a new buffer.
    pub fn to_vec(&self, frame: &TrafficFrame<'_>, raw: &[u8]) -> Result<Vec<u8>, EncodeError> {
        let len = self.encoded_len(frame, raw);
        if len > crate::wire::MAX_FRAME_LEN {
            return Err(EncodeError::TooLarge {
                field: crate::wire::Field::Header,
                len,
            });
        }
        let mut out = vec![0; len];
        self.emit(frame, raw, &mut out)?;
        Ok(out)
    }
}

impl RoutingTable {
    /// Decides what to do with a traffic frame that arrived on port `from`
    /// (0 for one the local application sends).
    ///
    /// For our key: deliver. Otherwise, with destination coordinates, the
    /// tree next hop; when there is none, or the coordinates are ours but the
    /// key is not (stale cached coordinates), the coordinates are cleared
    /// and the SNEK next hop is used. When SNEK ends here for a key that is
    /// not ours the frame is unroutable (the reference would hand it to the
    /// local application). With hop limiting on, the hop limit is
    /// decremented and the frame dropped at 1. It never goes back out of
    /// `from`, and never with a worse watermark.
    pub fn route_traffic(
        &self,
        frame: &TrafficFrame<'_>,
        from: Port,
        now: Millis,
    ) -> TrafficAction {
        if frame.dest_key() == self.tree.own {
            return TrafficAction::Deliver;
        }
        let watermark = frame.watermark();
        let tree_hop = if frame.dest_coords().is_empty() {
            None
        } else {
            match self.tree_next_hop(frame.dest_coords().iter(), from) {
                Some(NextHop::Port(port)) => Some(port),
                Some(NextHop::Local) | None => None,
            }
        };
        let (port, snek) = match tree_hop {
            Some(port) => (port, None),
            None => {
                let route = self.snek_next_hop(&frame.dest_key(), watermark, now);
                match route.next {
                    NextHop::Port(port) => (port, Some(route.watermark)),
                    NextHop::Local => return TrafficAction::Drop(DropReason::Unroutable),
                }
            }
        };
        let mut hop_limit = frame.hop_limit();
        if self.hop_limiting {
            if hop_limit > 1 {
                hop_limit -= 1;
            } else {
                return TrafficAction::Drop(DropReason::HopLimit);
            }
        }
        if port == from {
            return TrafficAction::Drop(DropReason::Loop);
        }
        if snek.is_some_and(|new| new.is_worse_than(&watermark)) {
            return TrafficAction::Drop(DropReason::Watermark);
        }
        TrafficAction::Forward(Forwarding {
            port,
            hop_limit,
            snek,
        })
    }
}
