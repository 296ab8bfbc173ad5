//! A bound on the number of inbound connections being set up at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts connections in their setup phase (HTTP upgrade and handshake) and
/// refuses more than a fixed number.
#[derive(Debug, Clone)]
pub(crate) struct HandshakeSlots {
    shared: Arc<SlotCount>,
}

#[derive(Debug)]
struct SlotCount {
    in_use: AtomicUsize,
    limit: usize,
}

/// One connection's claim on a slot, given back when dropped.
#[derive(Debug)]
pub(crate) struct HandshakeSlot {
    shared: Arc<SlotCount>,
}

impl HandshakeSlots {
    /// At most `limit` slots in use at once.
    pub(crate) fn new(limit: usize) -> HandshakeSlots {
        HandshakeSlots {
            shared: Arc::new(SlotCount {
                in_use: AtomicUsize::new(0),
                limit,
            }),
        }
    }

    /// Claims a slot, or `None` when all are in use.
    pub(crate) fn try_acquire(&self) -> Option<HandshakeSlot> {
        let limit = self.shared.limit;
        self.shared
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| HandshakeSlot {
                shared: Arc::clone(&self.shared),
            })
    }

    /// The most slots that can be claimed at once.
    pub(crate) fn limit(&self) -> usize {
        self.shared.limit
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.shared.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_and_frees_on_drop() {
        let slots = HandshakeSlots::new(2);
        assert_eq!(slots.limit(), 2);
        let first = slots.try_acquire().expect("first slot");
        let second = slots.try_acquire().expect("second slot");
        assert!(slots.try_acquire().is_none());
        drop(first);
        let third = slots.try_acquire().expect("a freed slot is reusable");
        assert!(slots.try_acquire().is_none());
        drop((second, third));
        let again: Vec<_> = (0..3).filter_map(|_| slots.try_acquire()).collect();
        assert_eq!(again.len(), 2, "both slots are free again, and no more");
    }

    #[test]
    fn zero_limit_refuses_everything() {
        assert!(HandshakeSlots::new(0).try_acquire().is_none());
    }
}
