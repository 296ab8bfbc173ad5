//! Where each port's peering lives: which worker, which slot.

use std::sync::Arc;

use super::counters::PeeringCounters;
use crate::control::Port;

/// A peering slot in one worker. The generation tells a slot's successive
/// peerings apart, so that frames queued for a closed peering never reach
/// the one that reuses its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId {
    /// Index in the worker's slot table.
    pub index: u32,
    /// How many peerings the worker attached before this one.
    pub generation: u32,
}

/// Where a port's peering lives.
#[derive(Debug, Clone)]
pub struct Location {
    /// The owning worker's index.
    pub worker: usize,
    /// The slot in that worker.
    pub slot: SlotId,
    /// The peering's counters.
    pub counters: Arc<PeeringCounters>,
}

/// An immutable port → location map, published as a whole and read
/// without locks on the per-frame path.
#[derive(Debug, Clone, Default)]
pub struct PortMap {
    by_port: Vec<Option<Location>>,
}

impl PortMap {
    /// Where `port` lives, if a worker has it.
    #[inline]
    pub fn get(&self, port: Port) -> Option<&Location> {
        let index = usize::try_from(port).ok()?;
        self.by_port.get(index)?.as_ref()
    }

    /// A copy with `port` at `location`.
    pub(crate) fn with(&self, port: Port, location: Location) -> PortMap {
        let mut map = self.clone();
        let Ok(index) = usize::try_from(port) else {
            return map;
        };
        if map.by_port.len() <= index {
            map.by_port.resize(index + 1, None);
        }
        map.by_port[index] = Some(location);
        map
    }

    /// A copy without `port`, if it still names `worker`'s `slot`.
    pub(crate) fn without(&self, port: Port, worker: usize, slot: SlotId) -> PortMap {
        let mut map = self.clone();
        let entry = usize::try_from(port)
            .ok()
            .and_then(|index| map.by_port.get_mut(index));
        if let Some(entry) = entry {
            if entry
                .as_ref()
                .is_some_and(|l| l.worker == worker && l.slot == slot)
            {
                *entry = None;
            }
        }
        while map.by_port.last().is_some_and(Option::is_none) {
            map.by_port.pop();
        }
        map
    }

    /// The ports that have a peering, in order.
    pub fn ports(&self) -> impl Iterator<Item = (Port, &Location)> {
        self.by_port
            .iter()
            .enumerate()
            .filter_map(|(port, l)| Some((port as Port, l.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(worker: usize, index: u32, generation: u32) -> Location {
        Location {
            worker,
            slot: SlotId { index, generation },
            counters: Arc::default(),
        }
    }

    #[test]
    fn insert_replace_and_remove() {
        let map = PortMap::default().with(3, location(0, 1, 1));
        assert_eq!(map.get(3).map(|l| l.slot.index), Some(1));
        assert!(map.get(2).is_none() && map.get(u64::MAX).is_none());
        // A newer peering on the same port (another worker) replaces it, and
        // removing the old one then leaves the new one alone.
        let map = map.with(3, location(1, 0, 4));
        let map = map.without(
            3,
            0,
            SlotId {
                index: 1,
                generation: 1,
            },
        );
        assert_eq!(map.get(3).map(|l| l.worker), Some(1));
        let map = map.without(
            3,
            1,
            SlotId {
                index: 0,
                generation: 4,
            },
        );
        assert!(map.get(3).is_none());
        assert_eq!(map.ports().count(), 0);
    }
}
