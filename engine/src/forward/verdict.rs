//! What to do with one whole frame received on a peering (or sent by the
//! local application).

use super::counters::DropCause;
use crate::control::{Forwarding, Millis, Port, RoutingTable, TrafficAction};
use crate::wire::{Frame, ParseError, TrafficFrame};

/// The fate of one frame.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verdict<'a> {
    /// Traffic to send on.
    Forward {
        /// The frame as received.
        frame: TrafficFrame<'a>,
        /// Where and how.
        forwarding: Forwarding,
    },
    /// Traffic for this node.
    Deliver(TrafficFrame<'a>),
    /// A frame for the control plane.
    Control,
    /// A frame to drop and count.
    Drop(DropCause),
}

/// Parses `raw`, one whole frame that arrived on `from`, and routes it if
/// it is traffic.
#[inline]
pub(crate) fn judge<'a>(
    table: &RoutingTable,
    from: Port,
    raw: &'a [u8],
    now: Millis,
) -> Result<Verdict<'a>, ParseError> {
    let frame = match Frame::parse(raw)? {
        Frame::Traffic(frame) => frame,
        Frame::Unknown(_) => return Ok(Verdict::Drop(DropCause::UnknownFrame)),
        Frame::Keepalive(_)
        | Frame::TreeAnnouncement(_)
        | Frame::Bootstrap(_)
        | Frame::WakeupBroadcast(_) => return Ok(Verdict::Control),
    };
    Ok(match table.route_traffic(&frame, from, now) {
        TrafficAction::Forward(forwarding) => Verdict::Forward { frame, forwarding },
        TrafficAction::Deliver => Verdict::Deliver(frame),
        TrafficAction::Drop(reason) => Verdict::Drop(reason.into()),
    })
}
