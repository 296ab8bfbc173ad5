//! The control thread's record of each live peering: its port, its driver
//! and the protocol frames waiting until its driver can take them.

use std::collections::{BTreeMap, VecDeque};

use pinecone_engine::control::Port;

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
}

/// The live peerings, by id and by port.
#[derive(Debug, Default)]
pub(crate) struct Peerings {
    by_id: BTreeMap<PeeringId, PeeringRecord>,
    by_port: BTreeMap<Port, PeeringId>,
    next_id: u64,
}

impl Peerings {
    /// Records a new peering; returns its id.
    pub(crate) fn insert(&mut self, record: PeeringRecord) -> PeeringId {
        let id = PeeringId(self.next_id);
        self.next_id += 1;
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
        Some(record)
    }

    /// Every live peering.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (PeeringId, &mut PeeringRecord)> {
        self.by_id.iter_mut().map(|(id, record)| (*id, record))
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
