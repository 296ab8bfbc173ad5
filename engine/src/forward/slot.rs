//! The two halves of a peering as its worker holds them: the input side
//! the worker reads frames from, the output side frames are queued on.
//! They live in separate tables so that a frame can move from one
//! peering's input to another's output without aliasing.

use std::sync::Arc;

use super::counters::PeeringCounters;
use super::input::InputBuffer;
use super::output::OutputQueue;
use super::port_map::SlotId;
use crate::control::Port;

/// Where a peering's input stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputState {
    /// Frames are taken as they arrive.
    Open,
    /// The control queue was full: the frame at the head waits for room.
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

    /// Notes that the slot has something to write, listing it once.
    #[inline]
    pub(crate) fn mark_writable(&mut self, writable: &mut Vec<SlotId>) {
        if !self.listed {
            self.listed = true;
            writable.push(self.id);
        }
    }
}
