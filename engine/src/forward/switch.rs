//! The per-frame path: take whole frames from a peering's input, route
//! traffic by the table snapshot, and queue it on the destination's output
//! (directly, or in a batch for the worker that owns it).

use std::sync::Arc;

use super::batch::Batch;
use super::buffer_pool::BufferPool;
use super::counters::{DropCause, PeeringCounters};
use super::error::PeeringError;
use super::fabric::Fabric;
use super::flow_memo::FlowMemo;
use super::messages::LocalDelivery;
use super::output::PushError;
use super::port_map::{Location, PortMap, SlotId};
use super::route_cache::RouteCache;
use super::slot::{InputSlot, OutputSlot};
use crate::control::{Millis, Port, RoutingTable, TrafficAction};
use crate::wire::{frame_length, EncodeError, Frame, ParseError};

/// Why a worker stopped taking frames from an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// Only a partial frame (or nothing) is left.
    Drained,
    /// The control queue (or its bytes bound for this peering or in
    /// total), or the queue to another worker, is full: the frame at the
    /// head waits.
    Blocked,
    /// The peering is broken.
    Broken(PeeringError),
}

/// What kind of frame was taken.
#[derive(PartialEq, Eq)]
enum Taken {
    Traffic,
    Other,
}

/// Why a frame was not queued for its destination.
enum Stop {
    /// It was dropped for this cause, to count against its source.
    Drop(DropCause),
    /// The queue to the worker that owns the destination is full: the
    /// frame stays in its input until there is room.
    Blocked,
}

/// Why one frame was not taken.
enum Refusal {
    Blocked,
    Malformed(ParseError),
}

/// One worker's view of the world for one batch: the snapshots it routes
/// by and the queues it fills.
pub(crate) struct Switch<'a> {
    pub(crate) me: usize,
    pub(crate) fabric: &'a Fabric,
    pub(crate) table: &'a RoutingTable,
    pub(crate) routes: &'a mut RouteCache,
    pub(crate) ports: &'a PortMap,
    pub(crate) now: Millis,
    pub(crate) outputs: &'a mut [Option<OutputSlot>],
    /// Where traffic lanes come from.
    pub(crate) lanes: &'a mut BufferPool,
    pub(crate) writable: &'a mut Vec<SlotId>,
    /// Per destination worker, the batch being filled.
    pub(crate) outbound: &'a mut [Option<Batch>],
    /// Set when a protocol frame or a datagram was queued for the control
    /// plane or the application.
    pub(crate) queued_for_control: bool,
}

impl Switch<'_> {
    /// Takes every whole frame from `input` until it is drained, blocked
    /// or broken.
    pub(crate) fn run(&mut self, input: &mut InputSlot) -> Halt {
        let pending = input.buffer.pending();
        let mut taken = 0;
        let mut frames = 0;
        let mut traffic_bytes = 0;
        let halt = loop {
            let rest = pending.get(taken..).unwrap_or_default();
            let len = match frame_length(rest) {
                Ok(Some(len)) => len,
                Ok(None) => break Halt::Drained,
                Err(error) => break Halt::Broken(PeeringError::Framing(error)),
            };
            let raw = rest.get(..len).unwrap_or_default();
            match self.take(input.port, &input.counters, &mut input.memo, raw) {
                Ok(Taken::Traffic) => traffic_bytes += len,
                Ok(Taken::Other) => {}
                Err(Refusal::Blocked) => break Halt::Blocked,
                Err(Refusal::Malformed(error)) => {
                    break Halt::Broken(PeeringError::MalformedFrame(error))
                }
            }
            taken += len;
            frames += 1;
        };
        if frames > 0 {
            input
                .counters
                .count_in(frames, taken as u64, traffic_bytes as u64, self.now);
        }
        input.buffer.consume(taken);
        halt
    }

    /// Handles one whole frame received on `from`. The next frame of the
    /// flow `memo` remembers is forwarded as its predecessor was.
    #[inline]
    fn take(
        &mut self,
        from: Port,
        counters: &Arc<PeeringCounters>,
        memo: &mut FlowMemo,
        raw: &[u8],
    ) -> Result<Taken, Refusal> {
        let epoch = self.routes.epoch();
        let sent = if let Some(port) = memo.recall(raw, epoch, self.now) {
            let memo = &*memo;
            self.send_to(port, |out| memo.emit(raw, out))
        } else {
            let frame = match Frame::parse(raw).map_err(Refusal::Malformed)? {
                Frame::Traffic(frame) => frame,
                Frame::Unknown(_) => {
                    counters.count_drops(DropCause::UnknownFrame, 1);
                    return Ok(Taken::Other);
                }
                Frame::Keepalive(_)
                | Frame::TreeAnnouncement(_)
                | Frame::Bootstrap(_)
                | Frame::WakeupBroadcast(_) => {
                    self.fabric
                        .to_control(self.me, counters, from, raw)
                        .map_err(|()| Refusal::Blocked)?;
                    self.queued_for_control = true;
                    return Ok(Taken::Other);
                }
            };
            let (action, until) = self.routes.route(self.table, &frame, from, self.now);
            match action {
                TrafficAction::Forward(forwarding) => {
                    let port = forwarding.port;
                    let payload_len = frame.payload().len();
                    let head = |out: &mut [u8]| forwarding.emit_head(&frame, raw, out);
                    let lasts = (epoch, until);
                    if memo.wants() && memo.remember(raw, payload_len, port, lasts, head) {
                        let memo = &*memo;
                        self.send_to(port, |out| memo.emit(raw, out))
                    } else {
                        self.send_to(port, |out| forwarding.emit(&frame, raw, out))
                    }
                }
                TrafficAction::Deliver => {
                    self.queued_for_control = true;
                    self.fabric
                        .deliver(LocalDelivery::of(&frame))
                        .map_err(Stop::Drop)
                }
                TrafficAction::Drop(reason) => Err(Stop::Drop(reason.into())),
            }
        };
        match sent {
            Ok(()) => {}
            Err(Stop::Drop(cause)) => counters.count_drops(cause, 1),
            Err(Stop::Blocked) => return Err(Refusal::Blocked),
        }
        Ok(Taken::Traffic)
    }

    /// Queues a forwarded frame, which `emit` writes, for the peering on
    /// `port`. Drops for a full destination are counted against it; a
    /// [`Stop::Drop`] is a drop to count against the source.
    #[inline]
    fn send_to(
        &mut self,
        port: Port,
        emit: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), Stop> {
        let ports = self.ports;
        let to = ports.get(port).ok_or(Stop::Drop(DropCause::NoPeering))?;
        if to.worker != self.me {
            return self.cross(to, emit);
        }
        let slot =
            OutputSlot::find(self.outputs, to.slot).ok_or(Stop::Drop(DropCause::NoPeering))?;
        match slot.queue.push_traffic(self.lanes, emit) {
            Ok(len) => {
                slot.counters.count_traffic_out(len);
                slot.mark_writable(self.writable);
                Ok(())
            }
            Err(PushError::Full) => {
                slot.counters.count_drops(DropCause::OutputFull, 1);
                Ok(())
            }
            Err(PushError::Encode(_)) => Err(Stop::Drop(DropCause::TooLarge)),
        }
    }

    /// Adds a frame to the batch for `to`'s worker, sending the batch on
    /// first when the frame does not fit. When that worker's queue is full
    /// the batch stays whole and the frame waits ([`Stop::Blocked`]).
    fn cross(
        &mut self,
        to: &Location,
        mut emit: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), Stop> {
        let (fabric, me) = (self.fabric, self.me);
        let pending = self
            .outbound
            .get_mut(to.worker)
            .ok_or(Stop::Drop(DropCause::NoPeering))?;
        for _ in 0..2 {
            let batch = pending.get_or_insert_with(|| fresh_batch(fabric, me));
            match batch.push(to.slot, &mut emit) {
                Ok(()) => return Ok(()),
                Err(EncodeError::BufferTooSmall { .. }) if !batch.is_empty() => {
                    if let Some(full) = pending.take() {
                        if let Err(full) = fabric.cross(to.worker, full) {
                            *pending = Some(full);
                            return Err(Stop::Blocked);
                        }
                    }
                }
                Err(_) => return Err(Stop::Drop(DropCause::TooLarge)),
            }
        }
        Err(Stop::Drop(DropCause::TooLarge))
    }

    /// Sends every batch being filled; one whose worker's queue is full
    /// stays, to be sent by a later call.
    pub(crate) fn flush(&mut self) {
        let fabric = self.fabric;
        for (worker, pending) in self.outbound.iter_mut().enumerate() {
            if pending.as_ref().is_none_or(Batch::is_empty) {
                continue;
            }
            if let Some(batch) = pending.take() {
                if let Err(batch) = fabric.cross(worker, batch) {
                    *pending = Some(batch);
                }
            }
        }
    }
}

/// A batch from `me`'s pool, or a new one.
fn fresh_batch(fabric: &Fabric, me: usize) -> Batch {
    fabric
        .workers
        .get(me)
        .and_then(|queues| queues.recycled.pop())
        .unwrap_or_else(|| Batch::new(me, fabric.config().batch_len))
}
