//! The fast routing table checked against a straightforward scan of every
//! peer and path, written after the reference's next-hop rules, on
//! randomized tables.
//!
//! Where the reference's answer depends on map iteration order (which of
//! several equally good links it picks), the oracle computes the set of
//! answers the reference could give and the table's answer must be one of
//! them; keys and watermarks must match exactly.
//!
//! One rule is deliberately ours, and the oracle has it too: a traffic frame
//! carrying exactly an expired path entry's watermark may still follow that
//! entry for [`PATH_GRACE`] after it expired.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::control::peers::PeerType;
use crate::control::time::{PATH_EXPIRY, PATH_FRESH_FOR_BOOTSTRAPS, PATH_GRACE};
use crate::wire::{tree_distance, Coords, Frame, TrafficRepr, Watermark};

fn key(byte: u8) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[0] = byte;
    PublicKey(bytes)
}

#[derive(Debug, Clone)]
struct Peer {
    port: Port,
    key: PublicKey,
    peer_type: PeerType,
    order: u64,
    root: Root,
    signers: Vec<PublicKey>,
    coords: Vec<u64>,
}

#[derive(Debug, Clone)]
struct Scenario {
    own: PublicKey,
    own_seq: u64,
    peers: Vec<Peer>,
    parent: Option<usize>,
    paths: Vec<PathEntry>,
    now: Millis,
}

impl Scenario {
    fn parent_peer(&self) -> Option<&Peer> {
        self.parent.map(|i| &self.peers[i])
    }

    fn root(&self) -> Root {
        self.parent_peer().map_or(
            Root {
                key: self.own,
                seq: self.own_seq,
            },
            |p| p.root,
        )
    }

    fn table(&self) -> RoutingTable {
        let links: Vec<LinkInfo<'_>> = self
            .peers
            .iter()
            .map(|p| LinkInfo {
                port: p.port,
                key: p.key,
                peer_type: p.peer_type,
                order: p.order,
                root: p.root,
                signers: &p.signers,
                peer_coords: &p.coords,
            })
            .collect();
        let coords = self.parent_peer().map_or(Coords::ROOT, |p| {
            let mut c = p.coords.clone();
            c.push(7);
            Coords(c)
        });
        let mut table = RoutingTable::new(self.own, self.own_seq, false);
        table.set_tree(TreeRoutes::build(
            self.own,
            self.root(),
            coords,
            self.parent_peer().map(|p| p.port),
            &links,
        ));
        for path in &self.paths {
            table.paths_mut().upsert(*path);
        }
        table
    }

    /// The reference's SNEK rules as a scan: the best key and sequence, and
    /// every port the reference could pick for it.
    fn snek(
        &self,
        dest: PublicKey,
        wm: Watermark,
        bootstrap: bool,
    ) -> (Watermark, BTreeSet<NextHop>) {
        let local = || BTreeSet::from([NextHop::Local]);
        if !bootstrap && dest == self.own {
            return (wm, local());
        }
        let ordered = |a: &PublicKey, b: &PublicKey, c: &PublicKey| a < b && b < c;
        let mut best_key = self.own;
        let mut best_seq = 0;
        let mut from_path: Option<Port> = None;
        let root = self.root();
        if self.parent.is_some()
            && ((bootstrap && dest == self.own) || ordered(&self.own, &dest, &root.key))
        {
            best_key = root.key;
        }
        let mut consider =
            |candidate: PublicKey, seq: u64, path: Option<Port>, best_key: &mut PublicKey| {
                let exact = !bootstrap && candidate == dest && *best_key != dest;
                if exact || ordered(&dest, &candidate, best_key) {
                    *best_key = candidate;
                    best_seq = seq;
                    from_path = path;
                }
            };
        // Ancestors of the parent first, then of every peer.
        let parent_first = self.parent_peer().into_iter().chain(self.peers.iter());
        for peer in parent_first {
            for signer in &peer.signers {
                consider(*signer, 0, None, &mut best_key);
            }
        }
        for path in &self.paths {
            // Where we deliberately differ from the reference: a traffic
            // frame carrying exactly an entry's watermark may still follow
            // it for a grace period after it expired.
            // And bootstraps follow only entries still being refreshed,
            // unless already on them.
            let age = self.now.saturating_since(path.last_seen);
            let on_it = path.watermark() == wm && age < PATH_EXPIRY + PATH_GRACE;
            let usable = if bootstrap {
                age < PATH_FRESH_FOR_BOOTSTRAPS || on_it
            } else {
                path.is_live(self.now) || on_it
            };
            if !usable || path.watermark().is_worse_than(&wm) {
                continue;
            }
            consider(path.key, path.seq, Some(path.source), &mut best_key);
        }
        let watermark = Watermark {
            key: best_key,
            seq: best_seq,
        };
        if best_key == self.own {
            return (watermark, local());
        }
        let direct: Vec<&Peer> = self.peers.iter().filter(|p| p.key == best_key).collect();
        if !direct.is_empty() {
            assert!(
                from_path.is_none(),
                "a path never beats a direct peer's key"
            );
            let fastest = direct.iter().map(|p| p.peer_type).min().unwrap();
            let fast: Vec<&&Peer> = direct.iter().filter(|p| p.peer_type == fastest).collect();
            let same_root = fast.iter().all(|p| p.root == fast[0].root);
            let ports = if same_root {
                let first = fast.iter().min_by_key(|p| p.order).unwrap();
                BTreeSet::from([NextHop::Port(first.port)])
            } else {
                fast.iter().map(|p| NextHop::Port(p.port)).collect()
            };
            return (watermark, ports);
        }
        if let Some(port) = from_path {
            return (watermark, BTreeSet::from([NextHop::Port(port)]));
        }
        if let Some(parent) = self.parent_peer() {
            if best_key == root.key || parent.signers.contains(&best_key) {
                return (watermark, BTreeSet::from([NextHop::Port(parent.port)]));
            }
        }
        let offering = self
            .peers
            .iter()
            .filter(|p| p.signers.contains(&best_key))
            .map(|p| NextHop::Port(p.port))
            .collect();
        (watermark, offering)
    }

    /// The reference's tree rule as a scan: every port it could pick.
    fn tree(&self, ours: &[u64], dest: &[u64], from: Port) -> Option<BTreeSet<NextHop>> {
        let dist = |a: &[u64]| tree_distance(a.iter().copied(), dest.iter().copied());
        let our_dist = dist(ours);
        if our_dist == 0 {
            return Some(BTreeSet::from([NextHop::Local]));
        }
        let root = self.root();
        let eligible: Vec<&Peer> = self
            .peers
            .iter()
            .filter(|p| p.port != from && p.root == root)
            .collect();
        let best = eligible.iter().map(|p| dist(&p.coords)).min()?;
        if best >= our_dist {
            return None;
        }
        Some(
            eligible
                .iter()
                .filter(|p| dist(&p.coords) == best)
                .map(|p| NextHop::Port(p.port))
                .collect(),
        )
    }
}

const KEYS: u8 = 24;

fn arb_peer_type() -> impl Strategy<Value = PeerType> {
    (0u8..5).prop_map(|b| PeerType::try_from(b).unwrap())
}

prop_compose! {
    fn arb_peer()(
        key in 1..KEYS,
        peer_type in arb_peer_type(),
        root_key in 1..KEYS,
        root_seq in 0u64..3,
        middle in proptest::collection::vec(1..KEYS, 0..4),
        coords in proptest::collection::vec(1u64..4, 0..4),
    ) -> (u8, PeerType, Root, Vec<u8>, Vec<u64>) {
        (key, peer_type, Root { key: key_of(root_key), seq: root_seq }, middle, coords)
    }
}

fn key_of(byte: u8) -> PublicKey {
    key(byte)
}

prop_compose! {
    fn arb_scenario()(
        own in 1..KEYS,
        own_seq in 0u64..3,
        raw_peers in proptest::collection::vec(arb_peer(), 0..7),
        parent_pick in any::<prop::sample::Index>(),
        has_parent in any::<bool>(),
        raw_paths in proptest::collection::vec((1..KEYS, 0u64..4, any::<prop::sample::Index>(), 0u64..15_000), 0..8),
    ) -> Scenario {
        let own = key(own);
        let now = Millis(100_000);
        let mut peers = Vec::new();
        for (i, (peer_key, peer_type, root, middle, coords)) in raw_peers.into_iter().enumerate() {
            let peer_key = key(peer_key);
            if peer_key == own {
                continue;
            }
            let mut signers = vec![root.key];
            for m in middle {
                let k = key(m);
                if !signers.contains(&k) && k != peer_key {
                    signers.push(k);
                }
            }
            if signers.last() != Some(&peer_key) {
                signers.retain(|k| *k != peer_key);
                signers.push(peer_key);
            }
            let root = Root { key: signers[0], seq: root.seq };
            peers.push(Peer {
                port: i as Port + 1,
                key: peer_key,
                peer_type,
                // Unique, and not in port order.
                order: (i as u64 * 7 % 5) * 10 + i as u64,
                root,
                signers,
                coords,
            });
        }
        let parent = (has_parent && !peers.is_empty())
            .then(|| parent_pick.index(peers.len()))
            .filter(|&i| !peers[i].signers.contains(&own));
        let ports: Vec<Port> = peers.iter().map(|p| p.port).collect();
        let mut paths: Vec<PathEntry> = Vec::new();
        if !ports.is_empty() {
            for (k, seq, source, age) in raw_paths {
                let k = key(k);
                if paths.iter().any(|p| p.key == k) {
                    continue;
                }
                paths.push(PathEntry {
                    key: k,
                    source: ports[source.index(ports.len())],
                    destination: NextHop::Local,
                    seq,
                    root: Root { key: own, seq: 0 },
                    last_seen: Millis(now.0 - age),
                });
            }
        }
        Scenario { own, own_seq, peers, parent, paths, now }
    }
}

prop_compose! {
    fn arb_watermark()(full in any::<bool>(), k in 1..KEYS, seq in 0u64..5) -> Watermark {
        if full { Watermark::FRESH } else { Watermark { key: key(k), seq } }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn snek_lookup_matches_the_scan(
        scenario in arb_scenario(),
        dest in 1..KEYS,
        watermark in arb_watermark(),
        bootstrap in any::<bool>(),
    ) {
        let table = scenario.table();
        let dest = key(dest);
        let got = if bootstrap {
            table.bootstrap_next_hop(&dest, watermark, scenario.now)
        } else {
            table.snek_next_hop(&dest, watermark, scenario.now)
        };
        let (expected, ports) = scenario.snek(dest, watermark, bootstrap);
        prop_assert_eq!(got.watermark, expected);
        prop_assert!(ports.contains(&got.next), "got {:?}, allowed {:?}", got.next, ports);
    }

    #[test]
    fn a_forwarding_holds_until_the_instant_the_table_gives_for_it(
        scenario in arb_scenario(),
        dest in 1..KEYS,
        carried in arb_watermark(),
        later in 0u64..20_000,
        payload_len in 0usize..4,
    ) {
        let table = scenario.table();
        let payload = vec![0u8; payload_len];
        let repr = TrafficRepr {
            hop_limit: 10,
            dest_coords: Coords::ROOT,
            src_coords: Coords(vec![1]),
            dest_key: key(dest),
            src_key: key(1),
            watermark: carried,
            payload: &payload,
        };
        let mut raw = vec![0; repr.encoded_len()];
        repr.emit(&mut raw).expect("fits");
        let Ok(Frame::Traffic(frame)) = Frame::parse(&raw) else {
            panic!("a traffic frame");
        };
        let from = 0;
        let TrafficAction::Forward(forwarding) = table.route_traffic(&frame, from, scenario.now)
        else {
            return Ok(());
        };
        let until = table.forwarding_lasts_until(&forwarding, frame.watermark(), scenario.now);
        prop_assert!(until > scenario.now);
        let then = Millis(scenario.now.0 + later);
        let answer = table.route_traffic(&frame, from, then);
        if then < until {
            prop_assert_eq!(answer, TrafficAction::Forward(forwarding));
        }
    }

    #[test]
    fn own_bootstrap_lookup_matches_the_scan(scenario in arb_scenario()) {
        let table = scenario.table();
        let got = table.bootstrap_next_hop(&scenario.own, Watermark::FRESH, scenario.now);
        let (expected, ports) = scenario.snek(scenario.own, Watermark::FRESH, true);
        prop_assert_eq!(got.watermark, expected);
        prop_assert!(ports.contains(&got.next), "got {:?}, allowed {:?}", got.next, ports);
    }

    #[test]
    fn tree_lookup_matches_the_scan(
        scenario in arb_scenario(),
        dest in proptest::collection::vec(1u64..4, 0..5),
        from in 0u64..8,
    ) {
        let table = scenario.table();
        let ours = table.coords().ports().to_vec();
        let got = table.tree_next_hop(dest.iter().copied(), from);
        let allowed = scenario.tree(&ours, &dest, from);
        match (got, allowed) {
            (None, None) => {}
            (Some(hop), Some(allowed)) => {
                prop_assert!(allowed.contains(&hop), "got {:?}, allowed {:?}", hop, allowed);
            }
            (got, allowed) => prop_assert!(false, "got {:?}, allowed {:?}", got, allowed),
        }
    }
}
