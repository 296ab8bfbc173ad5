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

/// The right to publish where one peering on a port lives, handed out by
/// [`Fabric::lease`](super::Fabric::lease) when the control plane puts a
/// peering on the port and used by the worker that attaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortLease {
    pub(crate) port: Port,
    pub(crate) number: u64,
}

impl PortLease {
    /// The port it is for.
    pub fn port(&self) -> Port {
        self.port
    }
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

/// Ports per chunk of a [`PortMap`].
const CHUNK: usize = 64;

/// One chunk of a [`PortMap`]: the locations of 64 consecutive ports.
type Chunk = [Option<Location>; CHUNK];

/// An immutable port → location map, published as a whole and read
/// without locks on the per-frame path.
///
/// It is kept in shared chunks of 64 ports, so that a copy with one port
/// changed copies one chunk and the list of chunks (a pointer per 64
/// ports), not every location: a backbone node attaching its ten
/// thousandth peering copies a few hundred pointers, not ten thousand
/// entries.
#[derive(Debug, Clone, Default)]
pub struct PortMap {
    chunks: Vec<Option<Arc<Chunk>>>,
}

impl PortMap {
    /// Where `port` lives, if a worker has it.
    #[inline]
    pub fn get(&self, port: Port) -> Option<&Location> {
        let index = usize::try_from(port).ok()?;
        let chunk = self.chunks.get(index / CHUNK)?.as_ref()?;
        chunk.get(index % CHUNK)?.as_ref()
    }

    /// The entry for `index`, unshared and created if need be.
    fn entry_mut(&mut self, index: usize) -> Option<&mut Option<Location>> {
        let at = index / CHUNK;
        if self.chunks.len() <= at {
            self.chunks.resize(at + 1, None);
        }
        let chunk = self.chunks.get_mut(at)?;
        let chunk = chunk.get_or_insert_with(|| Arc::new(std::array::from_fn(|_| None)));
        Arc::make_mut(chunk).get_mut(index % CHUNK)
    }

    /// A copy with `port` at `location`.
    pub(crate) fn with(&self, port: Port, location: Location) -> PortMap {
        let mut map = self.clone();
        if let Some(entry) = usize::try_from(port)
            .ok()
            .and_then(|index| map.entry_mut(index))
        {
            *entry = Some(location);
        }
        map
    }

    /// A copy without `port`, if it still names `worker`'s `slot`.
    pub(crate) fn without(&self, port: Port, worker: usize, slot: SlotId) -> PortMap {
        self.removing(port, |l| l.worker == worker && l.slot == slot)
    }

    /// A copy without `port`, whichever peering it names.
    pub(crate) fn vacated(&self, port: Port) -> PortMap {
        self.removing(port, |_| true)
    }

    /// A copy without `port`, if it names a location `names_it` accepts.
    fn removing(&self, port: Port, names_it: impl Fn(&Location) -> bool) -> PortMap {
        if !self.get(port).is_some_and(names_it) {
            return self.clone();
        }
        let mut map = self.clone();
        let Ok(index) = usize::try_from(port) else {
            return map;
        };
        if let Some(entry) = map.entry_mut(index) {
            *entry = None;
        }
        let at = index / CHUNK;
        let emptied = map
            .chunks
            .get(at)
            .and_then(Option::as_ref)
            .is_some_and(|chunk| chunk.iter().all(Option::is_none));
        if emptied {
            if let Some(chunk) = map.chunks.get_mut(at) {
                *chunk = None;
            }
        }
        while map.chunks.last().is_some_and(Option::is_none) {
            map.chunks.pop();
        }
        map
    }

    /// The ports that have a peering, in order.
    pub fn ports(&self) -> impl Iterator<Item = (Port, &Location)> {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(at, chunk)| Some((at, chunk.as_ref()?)))
            .flat_map(|(at, chunk)| {
                chunk.iter().enumerate().filter_map(move |(offset, l)| {
                    Some(((at * CHUNK + offset) as Port, l.as_ref()?))
                })
            })
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

    #[test]
    fn copies_share_untouched_chunks_and_stay_independent() {
        let mut map = PortMap::default();
        for port in 1..=300u64 {
            map = map.with(port, location(0, port as u32, 1));
        }
        let before = map.clone();
        let after = map.with(200, location(1, 7, 2));
        assert_eq!(
            before.get(200).map(|l| l.worker),
            Some(0),
            "the old map is unchanged"
        );
        assert_eq!(after.get(200).map(|l| l.worker), Some(1));
        assert!(Arc::ptr_eq(
            before.chunks[0].as_ref().expect("chunk"),
            after.chunks[0].as_ref().expect("chunk")
        ));
        let ports: Vec<Port> = after.ports().map(|(port, _)| port).collect();
        assert_eq!(ports, (1..=300).collect::<Vec<_>>());
        // Emptying the last chunks drops them.
        let mut map = after;
        for port in 256..=300u64 {
            map = map.without(
                port,
                0,
                SlotId {
                    index: port as u32,
                    generation: 1,
                },
            );
        }
        assert_eq!(map.chunks.len(), 4);
        assert_eq!(map.ports().count(), 255);
    }
}
