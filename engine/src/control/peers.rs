//! The peerings attached to a router, by port.

use super::announcement::StoredAnnouncement;
use super::time::{Millis, KEEPALIVE_INTERVAL, PEER_TIMEOUT};
use crate::wire::{Coords, FrameType, PublicKey};

/// A peering's port number on this node (1, 2, 3 …; 0 is the local router).
pub type Port = u64;

/// The local router's port.
pub const LOCAL_PORT: Port = 0;

/// The medium of a peering; lower numbers are faster and preferred when
/// several peerings lead to the same node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum PeerType {
    /// An in-process or local pipe.
    Pipe = 0,
    /// Found by LAN multicast discovery.
    Multicast = 1,
    /// Found by Bonjour discovery.
    Bonjour = 2,
    /// A configured remote peer (TCP or WebSocket).
    Remote = 3,
    /// A Bluetooth channel.
    Bluetooth = 4,
}

impl TryFrom<u8> for PeerType {
    type Error = u8;

    fn try_from(value: u8) -> Result<Self, u8> {
        match value {
            0 => Ok(PeerType::Pipe),
            1 => Ok(PeerType::Multicast),
            2 => Ok(PeerType::Bonjour),
            3 => Ok(PeerType::Remote),
            4 => Ok(PeerType::Bluetooth),
            other => Err(other),
        }
    }
}

/// What the caller knows about a peering whose handshake succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The key the peer proved in its handshake.
    pub key: PublicKey,
    /// The medium.
    pub peer_type: PeerType,
    /// The discovery zone (for example a network interface), or empty.
    pub zone: String,
    /// The address dialled or accepted from, or empty.
    pub uri: String,
}

/// Bytes moved on a peering, split as the reference splits them: traffic
/// frames and everything else ("protocol").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteCounters {
    /// Protocol bytes received.
    pub rx_proto: u64,
    /// Protocol bytes sent.
    pub tx_proto: u64,
    /// Traffic bytes received.
    pub rx_traffic: u64,
    /// Traffic bytes sent.
    pub tx_traffic: u64,
}

impl ByteCounters {
    fn is_traffic(frame: &[u8]) -> bool {
        frame.get(5) == Some(&(FrameType::Traffic as u8))
    }

    pub(crate) fn count_rx(&mut self, frame: &[u8]) {
        let len = frame.len() as u64;
        if Self::is_traffic(frame) {
            self.rx_traffic += len;
        } else {
            self.rx_proto += len;
        }
    }

    pub(crate) fn count_tx(&mut self, frame: &[u8]) {
        let len = frame.len() as u64;
        if Self::is_traffic(frame) {
            self.tx_traffic += len;
        } else {
            self.tx_proto += len;
        }
    }
}

/// A snapshot of one peering, for tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSummary {
    /// Its port.
    pub port: Port,
    /// The peer's key.
    pub key: PublicKey,
    /// The medium.
    pub peer_type: PeerType,
    /// The discovery zone.
    pub zone: String,
    /// The address.
    pub uri: String,
    /// The peer's own tree coordinates, once it has announced.
    pub coords: Option<Coords>,
    /// The root key and sequence the peer follows, once it has announced.
    pub root: Option<(PublicKey, u64)>,
    /// The receive order of its last announcement (lower: received earlier).
    pub order: Option<u64>,
    /// Whether it is this node's tree parent.
    pub is_parent: bool,
    /// Bytes moved.
    pub bytes: ByteCounters,
}

/// One attached peering.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) info: PeerInfo,
    /// The last announcement it sent, once it has sent one.
    pub(crate) announcement: Option<StoredAnnouncement>,
    pub(crate) last_sent: Millis,
    pub(crate) last_received: Millis,
    pub(crate) bytes: ByteCounters,
}

impl Peer {
    /// When it next needs a keepalive, or has been silent too long,
    /// whichever comes first.
    pub(crate) fn next_deadline(&self) -> Millis {
        self.last_sent
            .saturating_add(KEEPALIVE_INTERVAL)
            .min(self.last_received.saturating_add(PEER_TIMEOUT))
    }
}

/// The peerings, indexed by port. Ports are handed out lowest free first.
#[derive(Debug)]
pub(crate) struct PeerTable {
    /// Slot `p` holds the peer on port `p`; slot 0 (the local router) is
    /// always empty.
    slots: Vec<Option<Peer>>,
    /// The empty slots below the last taken one, so that the lowest free
    /// port is found without a scan.
    free: std::collections::BTreeSet<usize>,
    count: usize,
    /// No peer's [`next_deadline`](Peer::next_deadline) is earlier. A
    /// peer's deadline only moves later (its times only move on), so this
    /// stays a lower bound between [`refresh_deadline`](Self::refresh_deadline)
    /// calls, when attaching lowers it: asking for the next timer costs
    /// nothing per peer, however many peerings a node has.
    earliest_deadline: Millis,
}

impl Default for PeerTable {
    fn default() -> PeerTable {
        PeerTable {
            slots: Vec::new(),
            free: std::collections::BTreeSet::new(),
            count: 0,
            earliest_deadline: Millis::NEVER,
        }
    }
}

impl PeerTable {
    /// Attaches a peer on the lowest free port.
    pub(crate) fn attach(&mut self, info: PeerInfo, now: Millis) -> Port {
        let peer = Peer {
            info,
            announcement: None,
            last_sent: now,
            last_received: now,
            bytes: ByteCounters::default(),
        };
        if self.slots.is_empty() {
            self.slots.push(None);
        }
        let index = match self.free.pop_first() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.earliest_deadline = self.earliest_deadline.min(peer.next_deadline());
        self.slots[index] = Some(peer);
        self.count += 1;
        index as Port
    }

    /// No peer needs a keepalive or times out before this (or later: it is
    /// a lower bound until the next [`refresh_deadline`](Self::refresh_deadline)).
    pub(crate) fn earliest_deadline(&self) -> Millis {
        self.earliest_deadline
    }

    /// Makes [`earliest_deadline`](Self::earliest_deadline) exact again.
    pub(crate) fn refresh_deadline(&mut self) {
        self.earliest_deadline = self
            .iter()
            .map(|(_, peer)| peer.next_deadline())
            .min()
            .unwrap_or(Millis::NEVER);
    }

    /// Detaches the peer on `port`.
    pub(crate) fn detach(&mut self, port: Port) -> Option<Peer> {
        let peer = self.slot_mut(port)?.take()?;
        self.count -= 1;
        if let Ok(index) = usize::try_from(port) {
            self.free.insert(index);
        }
        while self.slots.len() > 1 && matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
            self.free.remove(&self.slots.len());
        }
        Some(peer)
    }

    fn slot_mut(&mut self, port: Port) -> Option<&mut Option<Peer>> {
        if port == LOCAL_PORT {
            return None;
        }
        self.slots.get_mut(usize::try_from(port).ok()?)
    }

    pub(crate) fn get(&self, port: Port) -> Option<&Peer> {
        if port == LOCAL_PORT {
            return None;
        }
        self.slots.get(usize::try_from(port).ok()?)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, port: Port) -> Option<&mut Peer> {
        self.slot_mut(port)?.as_mut()
    }

    /// The peers in port order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Port, &Peer)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| Some((i as Port, slot.as_ref()?)))
    }

    /// The peers in port order, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Port, &mut Peer)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, slot)| Some((i as Port, slot.as_mut()?)))
    }

    /// The ports in use, in order.
    pub(crate) fn ports(&self) -> Vec<Port> {
        self.iter().map(|(port, _)| port).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(byte: u8) -> PeerInfo {
        PeerInfo {
            key: PublicKey([byte; 32]),
            peer_type: PeerType::Remote,
            zone: String::new(),
            uri: String::new(),
        }
    }

    #[test]
    fn ports_are_lowest_free_first_and_never_zero() {
        let mut table = PeerTable::default();
        let now = Millis(0);
        assert_eq!(table.attach(info(1), now), 1);
        assert_eq!(table.attach(info(2), now), 2);
        assert_eq!(table.attach(info(3), now), 3);
        assert!(table.detach(2).is_some());
        assert_eq!(table.attach(info(4), now), 2);
        assert_eq!(table.len(), 3);
        assert!(table.get(LOCAL_PORT).is_none());
        assert!(table.detach(LOCAL_PORT).is_none());
        assert!(table.detach(99).is_none());
        assert_eq!(table.ports(), vec![1, 2, 3]);
    }

    #[test]
    fn detaching_everything_empties_the_table() {
        let mut table = PeerTable::default();
        let port = table.attach(info(1), Millis(0));
        assert_eq!(table.detach(port).map(|p| p.info.key), Some(info(1).key));
        assert!(table.is_empty());
        assert_eq!(table.attach(info(2), Millis(0)), 1);
    }

    #[test]
    fn peer_type_round_trips_through_its_byte() {
        for byte in 0..=4u8 {
            let peer_type = PeerType::try_from(byte).unwrap();
            assert_eq!(peer_type as u8, byte);
        }
        assert_eq!(PeerType::try_from(5), Err(5));
    }
}
