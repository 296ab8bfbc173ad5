//! A forwarding worker: the peerings one thread owns, and the calls its
//! I/O driver makes each round.

use std::collections::VecDeque;
use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};

use super::batch::Batch;
use super::buffer_pool::{BufferCounts, BufferPool};
use super::counters::{DropCause, PeeringCounters};
use super::doorbell::Doorbell;
use super::error::PeeringError;
use super::fabric::Fabric;
use super::flow_memo::FlowMemo;
use super::input::InputBuffer;
use super::output::{OutputChunks, OutputQueue};
use super::port_map::{Location, PortLease, PortMap, SlotId};
use super::route_cache::RouteCache;
use super::slot::{InputSlot, InputState, OutputSlot};
use super::switch::{Halt, Switch};
use crate::control::{Millis, Port, RoutingTable};

/// A peering a worker marked broken; the driver closes its connection and
/// tells the control plane (then calls [`Worker::detach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenPeering {
    /// Its slot.
    pub slot: SlotId,
    /// Its port.
    pub port: Port,
    /// What broke it.
    pub error: PeeringError,
}

/// The forwarding state one thread owns: a set of peerings (slots), each
/// with an input buffer, an output queue and counters.
///
/// A round of its I/O driver:
///
/// 1. read each readable peering into [`read_buffer`](Self::read_buffer)
///    and report the bytes with [`filled`](Self::filled) (0 when the read
///    brought nothing);
/// 2. call [`process`](Self::process) once: it takes in what other threads
///    queued for this worker, then routes every whole frame read;
/// 3. close each peering from [`take_broken`](Self::take_broken);
/// 4. for each slot from [`take_writable`](Self::take_writable), write
///    [`output`](Self::output) with one vectored write and report it with
///    [`written`](Self::written) (a slot with bytes left is written again
///    when its socket is writable).
///
/// The driver sleeps until a socket is ready or the worker's
/// [`Fabric::doorbell`] rings.
pub struct Worker {
    index: usize,
    doorbell: Arc<Doorbell>,
    fabric: Arc<Fabric>,
    table: Cache<Arc<ArcSwap<RoutingTable>>, Arc<RoutingTable>>,
    ports: Cache<Arc<ArcSwap<PortMap>>, Arc<PortMap>>,
    routes: RouteCache,
    /// Input buffers lent to peerings with bytes read.
    input_pool: BufferPool,
    /// Traffic lanes lent to peerings with traffic to write.
    lane_pool: BufferPool,
    inputs: Vec<Option<InputSlot>>,
    outputs: Vec<Option<OutputSlot>>,
    free: Vec<u32>,
    attached: u32,
    /// Inputs with frames to take (new bytes, or blocked).
    ready: Vec<u32>,
    writable: Vec<SlotId>,
    broken: Vec<BrokenPeering>,
    outbound: Vec<Option<Batch>>,
    /// The slot whose held local frames reached the traffic lane's length:
    /// local frames stay queued until it drains below.
    local_blocked_on: Option<SlotId>,
    /// Something was queued for the control plane or the application since
    /// [`take_queued_for_control`](Self::take_queued_for_control).
    queued_for_control: bool,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("peerings", &self.inputs.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

impl Worker {
    pub(crate) fn new(index: usize, doorbell: Arc<Doorbell>, fabric: Arc<Fabric>) -> Worker {
        let workers = fabric.workers.len();
        let config = fabric.config();
        Worker {
            index,
            doorbell,
            table: Cache::new(Arc::clone(&fabric.table)),
            ports: Cache::new(Arc::clone(&fabric.ports)),
            routes: RouteCache::new(config.route_cache_len),
            input_pool: BufferPool::new(config.input_buffer_len, config.spare_buffers),
            lane_pool: BufferPool::new(config.traffic_lane_len, config.spare_buffers),
            fabric,
            inputs: Vec::new(),
            outputs: Vec::new(),
            free: Vec::new(),
            attached: 0,
            ready: Vec::new(),
            writable: Vec::new(),
            broken: Vec::new(),
            outbound: (0..workers).map(|_| None).collect(),
            queued_for_control: false,
            local_blocked_on: None,
        }
    }

    /// This worker's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// This worker's doorbell ([`Fabric::doorbell`]), for its driver to
    /// install the callback that wakes the driver's thread.
    pub fn doorbell(&self) -> &Arc<Doorbell> {
        &self.doorbell
    }

    /// Attaches the peering the control plane put on the port of `lease`
    /// ([`Fabric::lease`], after its handshake) and publishes where it
    /// lives. `None` when the lease is void: the control plane closed the
    /// peering, or gave its port to another, before it got here; nothing
    /// is attached then, and the peering's connection is for the caller to
    /// close.
    pub fn attach(&mut self, lease: PortLease, now: Millis) -> Option<SlotId> {
        let port = lease.port();
        let index = self.free.pop().unwrap_or_else(|| {
            self.inputs.push(None);
            self.outputs.push(None);
            (self.inputs.len() - 1) as u32
        });
        self.attached = self.attached.wrapping_add(1);
        let id = SlotId {
            index,
            generation: self.attached,
        };
        let counters = Arc::new(PeeringCounters::new(now));
        let location = Location {
            worker: self.index,
            slot: id,
            counters: Arc::clone(&counters),
        };
        // Only this thread reaches the slot's queues, so the slot may
        // appear after the port names it.
        if !self.fabric.publish(lease, location) {
            self.free.push(index);
            return None;
        }
        let config = self.fabric.config();
        let input = InputSlot {
            id,
            port,
            counters: Arc::clone(&counters),
            buffer: InputBuffer::default(),
            memo: FlowMemo::default(),
            state: InputState::Open,
            listed: false,
        };
        let output = OutputSlot {
            id,
            counters,
            queue: OutputQueue::new(config.protocol_lane_len),
            held: VecDeque::new(),
            held_bytes: 0,
            listed: false,
        };
        self.inputs[index as usize] = Some(input);
        self.outputs[index as usize] = Some(output);
        Some(id)
    }

    /// Detaches a peering (its connection closed) and unpublishes its port,
    /// returning its port. Frames still queued for it are dropped; its
    /// buffers go back to the pools.
    pub fn detach(&mut self, slot: SlotId) -> Option<Port> {
        let port = self.input(slot)?.port;
        let index = slot.index as usize;
        if let Some(mut output) = self.outputs[index].take() {
            output.queue.release(&mut self.lane_pool);
        }
        if let Some(mut input) = self.inputs[index].take() {
            input.buffer.release(&mut self.input_pool);
            self.fabric.retire(port, self.index, slot, &input.counters);
        }
        self.free.push(slot.index);
        Some(port)
    }

    fn input(&self, slot: SlotId) -> Option<&InputSlot> {
        self.inputs
            .get(slot.index as usize)?
            .as_ref()
            .filter(|s| s.id == slot)
    }

    /// The port of a slot.
    pub fn port(&self, slot: SlotId) -> Option<Port> {
        self.input(slot).map(|s| s.port)
    }

    /// The counters of a slot.
    pub fn counters(&self, slot: SlotId) -> Option<&Arc<PeeringCounters>> {
        self.input(slot).map(|s| &s.counters)
    }

    /// Whether the driver should read from the peering: it is open and its
    /// input buffer has room.
    pub fn wants_read(&self, slot: SlotId) -> bool {
        self.input(slot)
            .is_some_and(|s| s.state == InputState::Open && s.buffer.has_space())
    }

    /// The free part of the peering's input buffer, to read into; empty when
    /// the peering should not be read ([`wants_read`](Self::wants_read)).
    ///
    /// A peering holds an input buffer only while it has bytes read and not
    /// yet taken as frames: this lends it one (from the worker's spares when
    /// there is one) if it holds none. Every call must be followed by
    /// [`filled`](Self::filled) for the same slot, with 0 when the read
    /// brought nothing (it would block, failed, or the stream ended), so
    /// that an unused buffer goes straight back.
    pub fn read_buffer(&mut self, slot: SlotId) -> &mut [u8] {
        match input_mut(&mut self.inputs, slot) {
            Some(input) if input.state == InputState::Open => {
                input.buffer.space(&mut self.input_pool)
            }
            _ => &mut [],
        }
    }

    /// Records that `n` bytes were read into
    /// [`read_buffer`](Self::read_buffer). With 0, a buffer holding nothing
    /// goes back at once; otherwise it goes back as soon as
    /// [`process`](Self::process) has taken every byte in it.
    pub fn filled(&mut self, slot: SlotId, n: usize) {
        let Some(input) = input_mut(&mut self.inputs, slot) else {
            return;
        };
        input.buffer.commit(n);
        if n == 0 {
            input.buffer.release_if_empty(&mut self.input_pool);
            return;
        }
        if !input.listed {
            input.listed = true;
            self.ready.push(slot.index);
        }
    }

    /// The buffers lent to this worker's peerings and kept spare. An idle
    /// peering (nothing read and not taken, nothing waiting to be written)
    /// holds none.
    pub fn buffers(&self) -> BufferCounts {
        let inputs = self.inputs.iter().flatten();
        let outputs = self.outputs.iter().flatten();
        BufferCounts {
            input: inputs.filter(|s| s.buffer.is_held()).count(),
            traffic: outputs.filter(|s| s.queue.holds_lane()).count(),
            spare_input: self.input_pool.spares(),
            spare_traffic: self.lane_pool.spares(),
        }
    }

    /// Takes in what other threads queued for this worker, then routes every
    /// whole frame read since the last call, from one snapshot of the
    /// routing table and port map.
    pub fn process(&mut self, now: Millis) {
        self.input_pool.begin_round();
        self.lane_pool.begin_round();
        self.take_inbound();
        let table = self.table.load();
        self.routes.begin(table, now);
        let mut switch = Switch {
            me: self.index,
            fabric: &self.fabric,
            table,
            routes: &mut self.routes,
            ports: self.ports.load(),
            now,
            outputs: &mut self.outputs,
            lanes: &mut self.lane_pool,
            writable: &mut self.writable,
            outbound: &mut self.outbound,
            queued_for_control: false,
        };
        let mut ready = std::mem::take(&mut self.ready);
        ready.retain(|&index| {
            let Some(input) = self.inputs.get_mut(index as usize).and_then(Option::as_mut) else {
                return false;
            };
            if input.state == InputState::Broken {
                input.listed = false;
                return false;
            }
            let halt = switch.run(input);
            input.buffer.release_if_empty(&mut self.input_pool);
            match halt {
                Halt::Drained => {
                    input.state = InputState::Open;
                    input.listed = false;
                    false
                }
                Halt::Blocked => {
                    input.state = InputState::Blocked;
                    true
                }
                Halt::Broken(error) => {
                    input.state = InputState::Broken;
                    input.listed = false;
                    self.broken.push(BrokenPeering {
                        slot: input.id,
                        port: input.port,
                        error,
                    });
                    false
                }
            }
        });
        switch.flush();
        self.queued_for_control |= switch.queued_for_control;
        self.ready = ready;
    }

    /// Whether [`process`](Self::process) queued protocol frames for the
    /// control plane or datagrams for the application since the last call:
    /// only then does the control thread need waking. Traffic that only
    /// crosses the forwarding plane never wakes it.
    pub fn take_queued_for_control(&mut self) -> bool {
        std::mem::take(&mut self.queued_for_control)
    }

    /// Moves protocol frames, crossing batches and local sends queued for
    /// this worker onto their peerings' output lanes.
    fn take_inbound(&mut self) {
        let Some(queues) = self.fabric.workers.get(self.index) else {
            return;
        };
        queues.doorbell.answer();
        while let Some((slot, frame)) = queues.protocol.pop() {
            let Some(output) = OutputSlot::find(&mut self.outputs, slot) else {
                continue;
            };
            match output.queue.push_protocol(&frame) {
                Ok(()) => {
                    output.counters.count_protocol_out(frame.len());
                    output.mark_writable(&mut self.writable);
                }
                Err(queued) => {
                    let error = PeeringError::ProtocolBacklog { queued };
                    mark_broken(&mut self.inputs, &mut self.broken, slot, error);
                }
            }
        }
        while let Some(batch) = queues.crossings.pop() {
            for (entry, frame) in batch.frames() {
                push_traffic(
                    &mut self.outputs,
                    &mut self.lane_pool,
                    &mut self.writable,
                    entry.slot,
                    frame,
                );
            }
            self.fabric.recycle(batch);
        }
        self.fabric.crossings_drained(self.index);
        self.take_local();
    }

    /// Moves frames the local application sent onto their peerings' traffic
    /// lanes, stopping while one peering holds a lane's worth of them.
    fn take_local(&mut self) {
        let Some(queues) = self.fabric.workers.get(self.index) else {
            return;
        };
        let bound = self.fabric.config().traffic_lane_len;
        if let Some(blocked) = self.local_blocked_on {
            match OutputSlot::find(&mut self.outputs, blocked) {
                Some(output) if output.held_bytes >= bound => return,
                _ => self.local_blocked_on = None,
            }
        }
        while let Some((slot, frame)) = queues.local.pop() {
            let Some(output) = OutputSlot::find(&mut self.outputs, slot) else {
                continue;
            };
            if !output.push_local(&mut self.lane_pool, frame, bound, &mut self.writable) {
                self.local_blocked_on = Some(slot);
                return;
            }
        }
    }

    /// The peerings marked broken since the last call.
    pub fn take_broken(&mut self) -> Vec<BrokenPeering> {
        std::mem::take(&mut self.broken)
    }

    /// Appends to `out` the slots that got something to write since the
    /// last call.
    pub fn take_writable(&mut self, out: &mut Vec<SlotId>) {
        for slot in self.writable.drain(..) {
            if let Some(output) = OutputSlot::find(&mut self.outputs, slot) {
                output.listed = false;
                out.push(slot);
            }
        }
    }

    /// What to write next on a peering (empty when nothing is waiting).
    pub fn output(&self, slot: SlotId) -> OutputChunks<'_> {
        let output = self
            .outputs
            .get(slot.index as usize)
            .and_then(Option::as_ref)
            .filter(|s| s.id == slot);
        match output {
            Some(output) => output.queue.chunks(),
            None => OutputChunks::EMPTY,
        }
    }

    /// Records that the first `n` bytes of [`output`](Self::output) were
    /// written at `now`; returns the bytes still waiting.
    pub fn written(&mut self, slot: SlotId, n: usize, now: Millis) -> usize {
        let Some(output) = OutputSlot::find(&mut self.outputs, slot) else {
            return 0;
        };
        let finished = output.queue.consume(&mut self.lane_pool, n);
        if n > 0 {
            output.counters.count_written(n, finished, now);
        }
        output.release_held(&mut self.lane_pool);
        let bound = self.fabric.config().traffic_lane_len;
        if self.local_blocked_on == Some(slot) && output.held_bytes < bound {
            // Local frames wait in the queue: take them in next round.
            self.local_blocked_on = None;
            if let Some(queues) = self.fabric.workers.get(self.index) {
                queues.doorbell.ring();
            }
        }
        output.queue.pending()
    }
}

/// Appends a traffic frame another thread queued to `slot`'s traffic lane,
/// or counts it dropped there when the lane is full.
fn push_traffic(
    outputs: &mut [Option<OutputSlot>],
    lanes: &mut BufferPool,
    writable: &mut Vec<SlotId>,
    slot: SlotId,
    frame: &[u8],
) {
    let Some(output) = OutputSlot::find(outputs, slot) else {
        return;
    };
    match output.queue.push_traffic_bytes(lanes, frame) {
        Ok(len) => {
            output.counters.count_traffic_out(len);
            output.mark_writable(writable);
        }
        Err(_) => output.counters.count_drops(DropCause::OutputFull, 1),
    }
}

/// The input of `slot`, if it is still that peering's.
fn input_mut(inputs: &mut [Option<InputSlot>], slot: SlotId) -> Option<&mut InputSlot> {
    inputs
        .get_mut(slot.index as usize)?
        .as_mut()
        .filter(|s| s.id == slot)
}

/// Marks the input of `slot` broken (once) and records why.
fn mark_broken(
    inputs: &mut [Option<InputSlot>],
    broken: &mut Vec<BrokenPeering>,
    slot: SlotId,
    error: PeeringError,
) {
    let input = inputs
        .get_mut(slot.index as usize)
        .and_then(Option::as_mut)
        .filter(|s| s.id == slot);
    let Some(input) = input else {
        return;
    };
    if input.state == InputState::Broken {
        return;
    }
    input.state = InputState::Broken;
    broken.push(BrokenPeering {
        slot,
        port: input.port,
        error,
    });
}
