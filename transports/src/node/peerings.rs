//! The control thread's record of each live peering: its port, its driver
//! and the protocol frames waiting until its driver can take them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use pinecone_engine::control::Port;

use super::limits::Counted;
use crate::io::PeeringId;

/// Protocol frames held back for one peering before it is closed as not
/// keeping up.
pub(crate) const MAX_BACKLOG: usize = 16_384;

/// One live peering.
#[derive(Debug)]
pub(crate) struct PeeringRecord {
    /// Its port on the router.
    pub(crate) port: Port,
    /// The index of the driver that owns it.
    pub(crate) driver: usize,
    /// The URI it was dialled at or accepted from.
    pub(crate) uri: String,
    /// Whether it is a static peer (redialled when it ends).
    pub(crate) is_static: bool,
    /// Whether its driver attached it (its port is published).
    pub(crate) attached: bool,
    /// Protocol frames waiting for the driver, oldest first.
    pub(crate) backlog: VecDeque<Vec<u8>>,
    /// What it counts against the peering limits.
    pub(crate) counted: Counted,
}

/// The live peerings, by id and by port, with the peerings whose protocol
/// frames are held back and how many each driver owns, so that no pass of
/// the control thread needs to visit every peering.
#[derive(Debug, Default)]
pub(crate) struct Peerings {
    by_id: BTreeMap<PeeringId, PeeringRecord>,
    by_port: BTreeMap<Port, PeeringId>,
    backlogged: BTreeSet<PeeringId>,
    driver_load: Vec<usize>,
    next_id: u64,
}

impl Peerings {
    /// Records a new peering; returns its id.
    pub(crate) fn insert(&mut self, record: PeeringRecord) -> PeeringId {
        let id = PeeringId(self.next_id);
        self.next_id += 1;
        if self.driver_load.len() <= record.driver {
            self.driver_load.resize(record.driver + 1, 0);
        }
        if let Some(load) = self.driver_load.get_mut(record.driver) {
            *load += 1;
        }
        self.by_port.insert(record.port, id);
        self.by_id.insert(id, record);
        id
    }

    /// The peering with `id`.
    pub(crate) fn get_mut(&mut self, id: PeeringId) -> Option<&mut PeeringRecord> {
        self.by_id.get_mut(&id)
    }

    /// The id of the peering on `port`.
    pub(crate) fn id_of(&self, port: Port) -> Option<PeeringId> {
        self.by_port.get(&port).copied()
    }

    /// Forgets the peering with `id`, returning its record.
    pub(crate) fn remove(&mut self, id: PeeringId) -> Option<PeeringRecord> {
        let record = self.by_id.remove(&id)?;
        if self.by_port.get(&record.port) == Some(&id) {
            self.by_port.remove(&record.port);
        }
        self.backlogged.remove(&id);
        if let Some(load) = self.driver_load.get_mut(record.driver) {
            *load -= 1;
        }
        Some(record)
    }

    /// Holds `frame` back for the peering `id` until its driver can take
    /// it; returns how many frames it holds, or `None` without a peering.
    pub(crate) fn hold(&mut self, id: PeeringId, frame: Vec<u8>) -> Option<usize> {
        let record = self.by_id.get_mut(&id)?;
        record.backlog.push_back(frame);
        self.backlogged.insert(id);
        Some(record.backlog.len())
    }

    /// The peerings holding frames back.
    pub(crate) fn backlogged(&self) -> Vec<PeeringId> {
        self.backlogged.iter().copied().collect()
    }

    /// Notes that the peering `id` holds no frames back any more.
    pub(crate) fn drained(&mut self, id: PeeringId) {
        self.backlogged.remove(&id);
    }

    /// The ids of the peerings `wanted` picks.
    pub(crate) fn ids_where(&self, wanted: impl Fn(&PeeringRecord) -> bool) -> Vec<PeeringId> {
        self.by_id
            .iter()
            .filter(|(_, record)| wanted(record))
            .map(|(&id, _)| id)
            .collect()
    }

    /// How many peerings each of `drivers` drivers owns.
    pub(crate) fn per_driver(&self, drivers: usize) -> Vec<usize> {
        (0..drivers)
            .map(|driver| self.driver_load.get(driver).copied().unwrap_or(0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(port: Port) -> PeeringRecord {
        PeeringRecord {
            port,
            driver: 0,
            uri: String::new(),
            is_static: false,
            attached: false,
            backlog: VecDeque::new(),
            counted: Counted {
                source: None,
                key: pinecone_engine::wire::PublicKey([port as u8; 32]),
            },
        }
    }

    #[test]
    fn a_reused_port_names_the_newest_peering() {
        let mut peerings = Peerings::default();
        let old = peerings.insert(record(1));
        let new = peerings.insert(record(1));
        assert_ne!(old, new);
        assert_eq!(peerings.id_of(1), Some(new));
        // Removing the old one leaves the port to the new one.
        assert_eq!(peerings.remove(old).map(|r| r.port), Some(1));
        assert_eq!(peerings.id_of(1), Some(new));
        assert!(peerings.remove(new).is_some());
        assert_eq!(peerings.id_of(1), None);
        assert!(peerings.remove(new).is_none());
    }
}
