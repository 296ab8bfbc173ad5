//! Forwarding decisions for traffic frames, and the rewrite they imply.

use super::{NextHop, RoutingTable};
use crate::control::peers::Port;
use crate::control::time::Millis;
use crate::wire::{EncodeError, TrafficFrame, Watermark};

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
    /// The watermark of a frame this forwarding rewrites: `None` when the
    /// frame goes out byte for byte as it came in, apart from the hop limit
    /// byte (a tree-routed frame, or a SNEK-routed one whose watermark stays).
    #[inline]
    fn rewrite(&self, frame: &TrafficFrame<'_>) -> Option<Watermark> {
        let watermark = self.snek?;
        let kept = frame.dest_coords().is_empty() && frame.wire_watermark() == Some(watermark);
        (!kept).then_some(watermark)
    }

    /// Length of the forwarded frame.
    pub fn encoded_len(&self, frame: &TrafficFrame<'_>, raw: &[u8]) -> usize {
        match self.rewrite(frame) {
            Some(watermark) => frame.snek_encoded_len(&watermark),
            None => raw.len(),
        }
    }

    /// Writes the forwarded frame into `out`, given the received frame's
    /// view and bytes, returning its length. Nothing is allocated: a frame
    /// that becomes SNEK routed here is written straight from the view.
    #[inline]
    pub fn emit(
        &self,
        frame: &TrafficFrame<'_>,
        raw: &[u8],
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        if let Some(watermark) = self.rewrite(frame) {
            return frame.emit_snek(self.hop_limit, &watermark, out);
        }
        self.copy_with_hop_limit(raw, out)
    }

    /// Writes the head of the forwarded frame (everything before its
    /// payload, the header giving the whole frame's length) into `out`,
    /// returning its length.
    pub(crate) fn emit_head(
        &self,
        frame: &TrafficFrame<'_>,
        raw: &[u8],
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        if let Some(watermark) = self.rewrite(frame) {
            return frame.emit_snek_head(self.hop_limit, &watermark, out);
        }
        let head = raw
            .get(..raw.len().saturating_sub(frame.payload().len()))
            .unwrap_or_default();
        self.copy_with_hop_limit(head, out)
    }

    /// Copies `bytes`, the start of a frame that keeps its watermark, into
    /// `out` with our hop limit in place of its own, returning their length.
    fn copy_with_hop_limit(&self, bytes: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
        let Some(dst) = out.get_mut(..bytes.len()) else {
            return Err(EncodeError::BufferTooSmall {
                needed: bytes.len(),
                available: out.len(),
            });
        };
        dst.copy_from_slice(bytes);
        if let Some(byte) = dst.get_mut(7) {
            *byte = self.hop_limit;
        }
        Ok(bytes.len())
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
        if port == from && !snek.is_some_and(|new| improves(&new, &watermark)) {
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

impl RoutingTable {
    /// The first instant at which [`route_traffic`](Self::route_traffic),
    /// asked about a frame carrying `carried` (its
    /// [`watermark`](TrafficFrame::watermark)), may stop answering
    /// `forwarding`, which it answered at `now`: until then, the same frame
    /// from the same port gets the same answer from this table.
    ///
    /// Time changes an answer only through the SNEK path entries it looks
    /// at, and those only ever stop serving a frame (see
    /// [`PathEntry::serves`](super::PathEntry::serves)): an entry passed
    /// over because it no longer served the frame never serves it again,
    /// every other step of the lookup is timeless, so the answer holds while
    /// the entry it follows serves the frame. An answer that follows no
    /// path entry (tree routing, a candidate learned from announcements)
    /// holds for as long as the table ([`Millis::NEVER`]).
    pub fn forwarding_lasts_until(
        &self,
        forwarding: &Forwarding,
        carried: Watermark,
        now: Millis,
    ) -> Millis {
        let followed = forwarding.snek.and_then(|chosen| {
            self.path(&chosen.key)
                .filter(|entry| entry.watermark() == chosen && entry.serves(carried, now))
        });
        followed.map_or(Millis::NEVER, |entry| entry.serves_until(carried))
    }
}

/// Whether a frame's watermark strictly improves from `old` to `new`: a lower
/// key, or the same key with a higher sequence.
///
/// A SNEK-routed frame may go back out of the port it came from when its
/// watermark strictly improves here (the reference drops it): this node
/// knows a path to a key closer to the destination than the one the
/// previous node routed toward, and that path leads back through it. This
/// happens where a path was re-routed part way and its first part has just
/// expired: the previous node then follows its expired entry, which serves
/// frames carrying exactly its watermark (see
/// [`PathEntry::serves`](super::PathEntry::serves)). It cannot make a loop:
/// the watermark never gets worse along the way and strictly improves at
/// every such turn.
fn improves(new: &Watermark, old: &Watermark) -> bool {
    match new.key.cmp(&old.key) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => new.seq > old.seq,
        std::cmp::Ordering::Greater => false,
    }
}
