//! The per-frame path: take whole frames from a peering's input, route
//! traffic by the table snapshot, and queue it on the destination's output
//! (directly, or in a batch for the worker that owns it).

use super::batch::Batch;
use super::counters::{DropCause, PeeringCounters};
use super::error::PeeringError;
use super::fabric::Fabric;
use super::messages::{ControlFrame, LocalDelivery};
use super::output::PushError;
use super::port_map::{Location, PortMap, SlotId};
use super::route_cache::RouteCache;
use super::slot::{InputSlot, OutputSlot};
use crate::control::{Forwarding, Millis, Port, RoutingTable, TrafficAction};
use crate::wire::{frame_length, EncodeError, Frame, ParseError, TrafficFrame};

/// Why a worker stopped taking frames from an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// Only a partial frame (or nothing) is left.
    Drained,
    /// The control queue is full: the frame at the head waits.
    Blocked,
    /// The peering is broken.
    Broken(PeeringError),
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
    pub(crate) writable: &'a mut Vec<SlotId>,
    /// Per destination worker, the batch being filled.
    pub(crate) outbound: &'a mut [Option<Batch>],
}

impl Switch<'_> {
    /// Takes every whole frame from `input` until it is drained, blocked
    /// or broken.
    pub(crate) fn run(&mut self, input: &mut InputSlot) -> Halt {
        let pending = input.buffer.pending();
        let mut taken = 0;
        let mut frames = 0;
        let halt = loop {
            let rest = pending.get(taken..).unwrap_or_default();
            let len = match frame_length(rest) {
                Ok(Some(len)) => len,
                Ok(None) => break Halt::Drained,
                Err(error) => break Halt::Broken(PeeringError::Framing(error)),
            };
            let raw = rest.get(..len).unwrap_or_default();
            match self.take(input.port, &input.counters, raw) {
                Ok(()) => {}
                Err(Refusal::Blocked) => break Halt::Blocked,
                Err(Refusal::Malformed(error)) => {
                    break Halt::Broken(PeeringError::MalformedFrame(error))
                }
            }
            taken += len;
            frames += 1;
        };
        if frames > 0 {
            input.counters.count_in(frames, taken as u64, self.now);
        }
        input.buffer.consume(taken);
        halt
    }

    /// Handles one whole frame received on `from`.
    #[inline]
    fn take(&mut self, from: Port, counters: &PeeringCounters, raw: &[u8]) -> Result<(), Refusal> {
        let frame = match Frame::parse(raw).map_err(Refusal::Malformed)? {
            Frame::Traffic(frame) => frame,
            Frame::Unknown(_) => {
                counters.count_drops(DropCause::UnknownFrame, 1);
                return Ok(());
            }
            Frame::Keepalive(_)
            | Frame::TreeAnnouncement(_)
            | Frame::Bootstrap(_)
            | Frame::WakeupBroadcast(_) => {
                let frame = ControlFrame {
                    port: from,
                    frame: raw.to_vec(),
                };
                return self
                    .fabric
                    .to_control(self.me, frame)
                    .map_err(|()| Refusal::Blocked);
            }
        };
        let dropped = match self.routes.route(self.table, &frame, from, self.now) {
            TrafficAction::Forward(forwarding) => self.forward(&frame, forwarding, raw),
            TrafficAction::Deliver => self.fabric.deliver(LocalDelivery::of(&frame)),
            TrafficAction::Drop(reason) => Err(reason.into()),
        };
        if let Err(cause) = dropped {
            counters.count_drops(cause, 1);
        }
        Ok(())
    }

    /// Queues a forwarded frame for its destination. Drops for a full
    /// destination are counted against it; the error is a drop to count
    /// against the source.
    #[inline]
    fn forward(
        &mut self,
        frame: &TrafficFrame<'_>,
        forwarding: Forwarding,
        raw: &[u8],
    ) -> Result<(), DropCause> {
        let ports = self.ports;
        let to = ports.get(forwarding.port).ok_or(DropCause::NoPeering)?;
        let emit = |out: &mut [u8]| forwarding.emit(frame, raw, out);
        if to.worker != self.me {
            return self.cross(to, forwarding.port, emit);
        }
        let slot = OutputSlot::find(self.outputs, to.slot).ok_or(DropCause::NoPeering)?;
        match slot.queue.push_traffic(emit) {
            Ok(len) => {
                slot.counters.count_out(len);
                slot.mark_writable(self.writable);
                Ok(())
            }
            Err(PushError::Full) => {
                slot.counters.count_drops(DropCause::OutputFull, 1);
                Ok(())
            }
            Err(PushError::Encode(_)) => Err(DropCause::TooLarge),
        }
    }

    /// Adds a frame to the batch for `to`'s worker, sending the batch on
    /// first when the frame does not fit.
    fn cross(
        &mut self,
        to: &Location,
        port: Port,
        emit: impl Fn(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), DropCause> {
        let (fabric, me) = (self.fabric, self.me);
        for _ in 0..2 {
            let pending = self
                .outbound
                .get_mut(to.worker)
                .ok_or(DropCause::NoPeering)?;
            let batch = pending.get_or_insert_with(|| fresh_batch(fabric, me));
            match batch.push(to.slot, port, &emit) {
                Ok(()) => return Ok(()),
                Err(EncodeError::BufferTooSmall { .. }) if !batch.is_empty() => {
                    if let Some(full) = pending.take() {
                        self.send_batch(to.worker, full);
                    }
                }
                Err(_) => return Err(DropCause::TooLarge),
            }
        }
        Err(DropCause::TooLarge)
    }

    /// Sends every batch being filled.
    pub(crate) fn flush(&mut self) {
        for worker in 0..self.outbound.len() {
            let batch = self.outbound.get_mut(worker).and_then(Option::take);
            match batch {
                Some(batch) if !batch.is_empty() => self.send_batch(worker, batch),
                other => {
                    if let Some(slot) = self.outbound.get_mut(worker) {
                        *slot = other;
                    }
                }
            }
        }
    }

    /// Hands a batch to worker `to`; when its queue is full the frames are
    /// dropped and counted against their peerings.
    fn send_batch(&mut self, to: usize, batch: Batch) {
        let Err(mut batch) = self.fabric.cross(to, batch) else {
            return;
        };
        for entry in batch.entries() {
            if let Some(location) = self.ports.get(entry.port) {
                if location.worker == to && location.slot == entry.slot {
                    location.counters.count_drops(DropCause::CrossingFull, 1);
                }
            }
        }
        batch.clear();
        if let Some(pending) = self.outbound.get_mut(to) {
            if pending.is_none() {
                *pending = Some(batch);
                return;
            }
        }
        self.fabric.recycle(batch);
    }
}

/// A batch from `me`'s pool, or a new one.
fn fresh_batch(fabric: &Fabric, me: usize) -> Batch {
    fabric
        .workers
        .get(me)
        .and_then(|queues| queues.recycled.pop())
        .unwrap_or_else(|| Batch::new(Some(me), fabric.config().batch_len))
}
