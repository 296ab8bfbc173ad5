//! Reachability probes: one traffic datagram per (source, destination)
//! pair, identified by its payload, counted at every link it crosses.

use pinecone_engine::control::Delivery;
use pinecone_engine::wire::{Frame, PublicKey, Watermark};
use pinecone_netkit::network::{Network, Observer};
use pinecone_netkit::rng::Rng;

use crate::topology::{NodeId, Topology};

/// Bytes that start every probe payload.
const PROBE_MAGIC: [u8; 4] = *b"psim";
/// Length of a probe payload: magic, round, index.
const PROBE_LEN: usize = 12;
/// Probes sent before waiting for the network to carry them all.
const BATCH: usize = 20_000;
/// A probe is taken to be looping once it has crossed this many times the
/// topology's diameter bound in links (and at least [`MIN_HOP_CAP`]).
const HOP_CAP_PER_DIAMETER: u32 = 8;
/// The least number of links a probe may cross before it counts as looping.
const MIN_HOP_CAP: u32 = 256;

/// The number of links after which a probe on `topology` counts as looping
/// and is dropped.
pub fn hop_cap(topology: &Topology) -> u32 {
    (HOP_CAP_PER_DIAMETER * topology.diameter_bound()).max(MIN_HOP_CAP)
}

/// A set of probes sent at one virtual time, and what became of them.
pub struct ProbeRound<'k> {
    id: u32,
    keys: &'k [PublicKey],
    /// The (source, destination) pairs probed.
    pub pairs: Vec<(NodeId, NodeId)>,
    hops: Vec<u32>,
    delivered: Vec<bool>,
    hop_cap: u32,
    /// Probes dropped by the simulator after crossing more than the hop cap
    /// in links (a forwarding loop).
    pub looped: u64,
    /// Probes whose source router refused to send them.
    pub refused: u64,
    /// Probe datagrams handed to an application that was not their
    /// destination's.
    pub misdelivered: u64,
    /// Each probe's hops (only when tracing).
    trails: Option<Vec<Vec<Hop>>>,
}

/// One link a traced probe crossed.
#[derive(Debug, Clone, Copy)]
pub struct Hop {
    /// The node it reached.
    pub to: NodeId,
    /// Whether it still carried destination coordinates (tree routed).
    pub tree_routed: bool,
    /// The SNEK watermark it carried on the link, if SNEK routed.
    pub watermark: Option<Watermark>,
}

impl<'k> ProbeRound<'k> {
    /// A round `id` over `pairs` of a network whose node keys are `keys`,
    /// dropping probes after `hop_cap` links. With `trace`, it records every
    /// probe's path.
    pub fn new(
        id: u32,
        keys: &'k [PublicKey],
        pairs: Vec<(NodeId, NodeId)>,
        hop_cap: u32,
        trace: bool,
    ) -> Self {
        let count = pairs.len();
        ProbeRound {
            id,
            keys,
            pairs,
            hops: vec![0; count],
            delivered: vec![false; count],
            hop_cap,
            looped: 0,
            refused: 0,
            misdelivered: 0,
            trails: trace.then(|| vec![Vec::new(); count]),
        }
    }

    /// Sends every probe, in batches, and runs the network until each one
    /// has been delivered or dropped.
    pub fn run(&mut self, network: &mut Network) {
        for start in (0..self.pairs.len()).step_by(BATCH) {
            let end = (start + BATCH).min(self.pairs.len());
            for index in start..end {
                let (source, dest) = self.pairs[index];
                let payload = encode(self.id, index as u32);
                if !network.send(source, self.keys[dest as usize], &payload, self) {
                    self.refused += 1;
                }
            }
            network.run_until_no_traffic(self);
            if self.pairs.len() > BATCH {
                eprintln!(
                    "[sim]   {end}/{} probes carried by t={:.3}s",
                    self.pairs.len(),
                    network.now() as f64 / 1000.0
                );
            }
        }
    }

    /// Number of probes delivered to their destination.
    pub fn delivered_count(&self) -> usize {
        self.delivered.iter().filter(|&&d| d).count()
    }

    /// For each delivered probe, its index and the links it crossed.
    pub fn delivered_hops(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (0..self.pairs.len())
            .filter(|&i| self.delivered[i])
            .map(|i| (i, self.hops[i]))
    }

    /// Indices of the probes that did not arrive.
    pub fn undelivered(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.pairs.len()).filter(|&i| !self.delivered[i])
    }

    /// The nodes probe `index` reached after its source, hop by hop, if
    /// traced.
    pub fn trail(&self, index: usize) -> Option<&[Hop]> {
        self.trails.as_ref().map(|trails| trails[index].as_slice())
    }
}

impl Observer for ProbeRound<'_> {
    fn on_traffic(&mut self, _from: NodeId, to: NodeId, frame: &[u8]) -> bool {
        let Ok(Frame::Traffic(traffic)) = Frame::parse(frame) else {
            return true;
        };
        let Some(index) = self.index_of(traffic.payload()) else {
            return true;
        };
        self.hops[index] += 1;
        if let Some(trails) = &mut self.trails {
            trails[index].push(Hop {
                to,
                tree_routed: !traffic.dest_coords().is_empty(),
                watermark: traffic.wire_watermark(),
            });
        }
        if self.hops[index] > self.hop_cap {
            self.looped += 1;
            return false;
        }
        true
    }

    fn on_delivery(&mut self, node: NodeId, delivery: Delivery) {
        let Some(index) = self.index_of(&delivery.payload) else {
            return;
        };
        let (source, dest) = self.pairs[index];
        if node == dest && delivery.source == self.keys[source as usize] {
            self.delivered[index] = true;
        } else {
            self.misdelivered += 1;
        }
    }
}

impl ProbeRound<'_> {
    /// The probe index in `payload` if it is one of this round's probes.
    fn index_of(&self, payload: &[u8]) -> Option<usize> {
        let (round, index) = decode(payload)?;
        let index = index as usize;
        (round == self.id && index < self.pairs.len()).then_some(index)
    }
}

fn encode(round: u32, index: u32) -> [u8; PROBE_LEN] {
    let mut payload = [0; PROBE_LEN];
    payload[..4].copy_from_slice(&PROBE_MAGIC);
    payload[4..8].copy_from_slice(&round.to_be_bytes());
    payload[8..].copy_from_slice(&index.to_be_bytes());
    payload
}

fn decode(payload: &[u8]) -> Option<(u32, u32)> {
    let payload: &[u8; PROBE_LEN] = payload.try_into().ok()?;
    if payload[..4] != PROBE_MAGIC {
        return None;
    }
    let round = u32::from_be_bytes(payload[4..8].try_into().ok()?);
    let index = u32::from_be_bytes(payload[8..].try_into().ok()?);
    Some((round, index))
}

/// Every ordered pair of distinct connected nodes if there are at most
/// `limit` of them, else `limit` such pairs drawn at random (with
/// replacement) from `rng`.
pub fn choose_pairs(topology: &Topology, limit: u64, rng: &mut Rng) -> Vec<(NodeId, NodeId)> {
    let n = topology.node_count() as NodeId;
    if topology.connected_pair_count() <= limit {
        let mut pairs = Vec::new();
        for source in 0..n {
            for dest in 0..n {
                if source != dest && topology.component(source) == topology.component(dest) {
                    pairs.push((source, dest));
                }
            }
        }
        return pairs;
    }
    let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); topology.component_count()];
    for node in 0..n {
        members[topology.component(node) as usize].push(node);
    }
    let mut pairs = Vec::with_capacity(limit as usize);
    while (pairs.len() as u64) < limit {
        let source = rng.below(u64::from(n)) as NodeId;
        let group = &members[topology.component(source) as usize];
        if group.len() < 2 {
            continue;
        }
        let dest = group[rng.below(group.len() as u64) as usize];
        if dest != source {
            pairs.push((source, dest));
        }
    }
    pairs
}

/// The shortest-path hop count of every pair.
pub fn shortest_paths(topology: &Topology, pairs: &[(NodeId, NodeId)]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| pairs[i].0);
    let mut result = vec![0; pairs.len()];
    let (mut dist, mut queue) = (Vec::new(), Vec::new());
    let mut current = None;
    for i in order {
        let (source, dest) = pairs[i];
        if current != Some(source) {
            topology.bfs(source, &mut dist, &mut queue);
            current = Some(source);
        }
        result[i] = dist[dest as usize];
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_rejects_foreign_data() {
        assert_eq!(decode(&encode(7, 123_456)), Some((7, 123_456)));
        assert_eq!(decode(b"hello world!"), None);
        assert_eq!(decode(&encode(7, 1)[..11]), None);
    }

    #[test]
    fn small_graphs_get_every_connected_pair() {
        let topology = Topology::parse("a b c\nd e");
        let pairs = choose_pairs(&topology, 100, &mut Rng::new(1, 0));
        assert_eq!(pairs.len(), 8);
        assert!(pairs.contains(&(0, 2)) && pairs.contains(&(4, 3)));
        assert!(!pairs.contains(&(0, 3)));
    }

    #[test]
    fn large_graphs_get_a_sample_within_components() {
        let topology = Topology::parse("a b c d e f\ng h");
        let pairs = choose_pairs(&topology, 20, &mut Rng::new(1, 0));
        assert_eq!(pairs.len(), 20);
        for (source, dest) in pairs {
            assert_ne!(source, dest);
            assert_eq!(topology.component(source), topology.component(dest));
        }
    }

    #[test]
    fn shortest_paths_match_bfs() {
        let topology = Topology::parse("a b c d\na d");
        let pairs = [(0, 2), (1, 3), (0, 3), (2, 0)];
        assert_eq!(shortest_paths(&topology, &pairs), [2, 2, 1, 2]);
    }
}
