//! The two halves of a peering as its worker holds them: the input side
//! the worker reads frames from, the output side frames are queued on.
//! They live in separate tables so that a frame can move from one
//! peering's input to another's output without aliasing.

use std::collections::VecDeque;
use std::sync::Arc;

use super::buffer_pool::BufferPool;
use super::counters::PeeringCounters;
use super::flow_memo::FlowMemo;
use super::input::InputBuffer;
use super::output::OutputQueue;
use super::port_map::SlotId;
use crate::control::Port;

/// Where a peering's input stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputState {
    /// Frames are taken as they arrive.
    Open,
    /// The control queue (or its bytes bound for this peering or in total),
    /// or the queue to another worker, was full: the frame at the head waits
    /// for room.
    Blocked,
    /// The peering is broken; nothing more is read from it.
    Broken,
}

/// A peering's input side.
#[derive(Debug)]
pub(crate) struct InputSlot {
    pub(crate) id: SlotId,
    pub(crate) port: Port,
    pub(crate) counters: Arc<PeeringCounters>,
    pub(crate) buffer: InputBuffer,
    /// The last traffic frame forwarded from this peering.
    pub(crate) memo: FlowMemo,
    pub(crate) state: InputState,
    /// Listed among the slots to process.
    pub(crate) listed: bool,
}

/// A peering's output side.
#[derive(Debug)]
pub(crate) struct OutputSlot {
    pub(crate) id: SlotId,
    pub(crate) counters: Arc<PeeringCounters>,
    pub(crate) queue: OutputQueue,
    /// Frames the local application sent that found the traffic lane full,
    /// in order, waiting for the driver to make room.
    pub(crate) held: VecDeque<Vec<u8>>,
    /// Bytes in `held`.
    pub(crate) held_bytes: usize,
    /// Listed among the slots with something to write.
    pub(crate) listed: bool,
}

impl OutputSlot {
    /// The slot at `index` in `slots`, if it is still peering `id`.
    #[inline]
    pub(crate) fn find(slots: &mut [Option<OutputSlot>], id: SlotId) -> Option<&mut OutputSlot> {
        let index = usize::try_from(id.index).ok()?;
        slots.get_mut(index)?.as_mut().filter(|slot| slot.id == id)
    }

    /// Queues a frame the local application sent. Frames that find the
    /// traffic lane full are held, in order, for the driver to make room:
    /// a burst from the application waits rather than being dropped as
    /// transit traffic would be. Returns whether the slot holds less than
    /// `bound` bytes (more frames may be queued on it).
    pub(crate) fn push_local(
        &mut self,
        lanes: &mut BufferPool,
        frame: Vec<u8>,
        bound: usize,
        writable: &mut Vec<SlotId>,
    ) -> bool {
        if self.held.is_empty() {
            if let Ok(len) = self.queue.push_traffic_bytes(lanes, &frame) {
                self.counters.count_local_out(len);
                self.mark_writable(writable);
                return true;
            }
        }
        self.held_bytes += frame.len();
        self.held.push_back(frame);
        self.held_bytes < bound
    }

    /// Moves held frames onto the traffic lane while they fit; once none
    /// is left, the memory that held them goes.
    pub(crate) fn release_held(&mut self, lanes: &mut BufferPool) {
        while let Some(frame) = self.held.front() {
            let Ok(len) = self.queue.push_traffic_bytes(lanes, frame) else {
                return;
            };
            self.counters.count_local_out(len);
            self.held_bytes -= len;
            self.held.pop_front();
        }
        if self.held.capacity() > 0 {
            self.held = VecDeque::new();
        }
    }

    /// Notes that the slot has something to write, listing it once.
    #[inline]
    pub(crate) fn mark_writable(&mut self, writable: &mut Vec<SlotId>) {
        if !self.listed {
            self.listed = true;
            writable.push(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buffers aside (an idle peering holds none), a peering costs its
    /// worker its two slot halves and its counters.
    #[test]
    fn an_idle_peering_costs_its_worker_a_few_hundred_bytes() {
        let per_peering = std::mem::size_of::<Option<InputSlot>>()
            + std::mem::size_of::<Option<OutputSlot>>()
            + std::mem::size_of::<PeeringCounters>();
        assert!(per_peering <= 512, "{per_peering} bytes");
    }
}
