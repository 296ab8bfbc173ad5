//! Each step of the SNEK next-hop rules, on small hand-built tables.
//!
//! We are key 4 following root 9 (sequence 1). The parent (key 3, port 1)
//! announces `[9, 3]`; other peers announce as each test says.

use super::*;
use crate::control::peers::PeerType;
use crate::wire::Watermark;

fn k(byte: u8) -> PublicKey {
    let mut bytes = [0u8; 32];
    bytes[0] = byte;
    PublicKey(bytes)
}

fn root() -> Root {
    Root { key: k(9), seq: 1 }
}

struct Peer {
    port: Port,
    signers: Vec<PublicKey>,
    peer_type: PeerType,
    order: u64,
}

fn peer(port: Port, signers: &[u8]) -> Peer {
    Peer {
        port,
        signers: signers.iter().map(|&b| k(b)).collect(),
        peer_type: PeerType::Remote,
        order: port,
    }
}

const PARENT: Port = 1;
const NOW: Millis = Millis(100_000);

fn table(peers: &[Peer], paths: &[PathEntry]) -> RoutingTable {
    let root = root();
    let links: Vec<LinkInfo<'_>> = peers
        .iter()
        .map(|p| LinkInfo {
            port: p.port,
            key: *p.signers.last().unwrap(),
            peer_type: p.peer_type,
            order: p.order,
            root,
            signers: &p.signers,
            peer_coords: &[],
        })
        .collect();
    let parent = peers.iter().any(|p| p.port == PARENT).then_some(PARENT);
    let mut table = RoutingTable::new(k(4), 0, false);
    table.set_tree(TreeRoutes::build(
        k(4),
        root,
        Coords(vec![1]),
        parent,
        &links,
    ));
    for path in paths {
        table.paths_mut().upsert(*path);
    }
    table
}

fn with_parent(others: Vec<Peer>) -> Vec<Peer> {
    let mut peers = vec![peer(PARENT, &[9, 3])];
    peers.extend(others);
    peers
}

fn path(key: u8, source: Port, seq: u64, last_seen: Millis) -> PathEntry {
    PathEntry {
        key: k(key),
        source,
        destination: NextHop::Local,
        seq,
        root: root(),
        last_seen,
    }
}

fn wm(key: u8, seq: u64) -> Watermark {
    Watermark { key: k(key), seq }
}

fn traffic(table: &RoutingTable, dest: u8) -> (NextHop, Watermark) {
    let r = table.snek_next_hop(&k(dest), Watermark::FRESH, NOW);
    (r.next, r.watermark)
}

fn bootstrap(table: &RoutingTable, dest: u8) -> (NextHop, Watermark) {
    let r = table.bootstrap_next_hop(&k(dest), Watermark::FRESH, NOW);
    (r.next, r.watermark)
}

#[test]
fn step1_traffic_for_our_key_is_local() {
    let t = table(&with_parent(vec![]), &[]);
    assert_eq!(
        t.snek_next_hop(&k(4), wm(7, 3), NOW),
        SnekRoute {
            next: NextHop::Local,
            watermark: wm(7, 3)
        }
    );
}

#[test]
fn step2_keys_between_us_and_the_root_start_at_the_root_via_the_parent() {
    let t = table(&with_parent(vec![]), &[]);
    assert_eq!(traffic(&t, 7), (NextHop::Port(PARENT), wm(9, 0)));
    // Above the root nothing is closer than ourselves.
    assert_eq!(traffic(&t, 10), (NextHop::Local, wm(4, 0)));
    // Without a parent there is no root path: only an exact key is
    // reachable above us.
    let t = table(&[peer(2, &[9, 6])], &[]);
    assert_eq!(traffic(&t, 6), (NextHop::Port(2), wm(6, 0)));
    assert_eq!(traffic(&t, 5), (NextHop::Local, wm(4, 0)));
    let t = table(&[], &[]);
    assert_eq!(traffic(&t, 7), (NextHop::Local, wm(4, 0)));
}

#[test]
fn step2_our_own_bootstrap_always_starts_toward_the_root() {
    let t = table(&with_parent(vec![]), &[]);
    assert_eq!(bootstrap(&t, 4), (NextHop::Port(PARENT), wm(9, 0)));
    // A root's bootstrap has nowhere to go.
    let t = table(&[], &[]);
    assert_eq!(bootstrap(&t, 4), (NextHop::Local, wm(4, 0)));
}

#[test]
fn step3_ancestors_of_every_peer_are_candidates() {
    // Peer 2 is a child of 6, which is a child of the root.
    let t = table(&with_parent(vec![peer(2, &[9, 6, 5])]), &[]);
    assert_eq!(traffic(&t, 7), (NextHop::Port(PARENT), wm(9, 0)));
    assert_eq!(traffic(&t, 6), (NextHop::Port(2), wm(6, 0)));
    assert_eq!(traffic(&t, 5), (NextHop::Port(2), wm(5, 0)));
    // Below us: the lowest known key above the destination.
    assert_eq!(traffic(&t, 2), (NextHop::Port(PARENT), wm(3, 0)));
    assert_eq!(traffic(&t, 1), (NextHop::Port(PARENT), wm(3, 0)));
    // Our bootstrap goes to the next key up: 5.
    assert_eq!(bootstrap(&t, 4), (NextHop::Port(2), wm(5, 0)));
}

#[test]
fn step3_an_exact_key_is_taken_for_traffic_but_never_for_a_bootstrap() {
    let t = table(&with_parent(vec![peer(2, &[9, 6])]), &[]);
    assert_eq!(traffic(&t, 6), (NextHop::Port(2), wm(6, 0)));
    assert_eq!(bootstrap(&t, 6), (NextHop::Port(PARENT), wm(9, 0)));
    assert_eq!(bootstrap(&t, 3), (NextHop::Local, wm(4, 0)));
}

#[test]
fn step3_ancestors_via_the_parent_win_over_other_peers() {
    // Key 7 is above us in the parent's announcement and in peer 2's.
    let peers = vec![peer(PARENT, &[9, 7, 3]), peer(2, &[9, 7, 5])];
    let t = table(&peers, &[]);
    assert_eq!(traffic(&t, 7), (NextHop::Port(PARENT), wm(7, 0)));
}

#[test]
fn step4_a_best_key_that_is_a_direct_peer_is_reached_directly() {
    // 6 is an ancestor of the parent but also a direct peer.
    let peers = vec![peer(PARENT, &[9, 6, 3]), peer(2, &[9, 6])];
    let t = table(&peers, &[]);
    assert_eq!(traffic(&t, 6), (NextHop::Port(2), wm(6, 0)));
    assert_eq!(traffic(&t, 5), (NextHop::Port(2), wm(6, 0)));
    // The root itself is a direct peer here: the root path uses it.
    let peers = vec![peer(PARENT, &[9, 3]), peer(2, &[9])];
    let t = table(&peers, &[]);
    assert_eq!(traffic(&t, 7), (NextHop::Port(2), wm(9, 0)));
}

#[test]
fn step5_paths_descend_with_their_sequence() {
    let paths = [path(1, 3, 50, NOW)];
    let t = table(&with_parent(vec![peer(2, &[9, 2])]), &paths);
    // Exact path to 1 beats the ancestor 2.
    assert_eq!(traffic(&t, 1), (NextHop::Port(3), wm(1, 50)));
    // A path to a key closer than any ancestor.
    let paths = [path(1, 3, 50, NOW)];
    let t = table(&with_parent(vec![peer(2, &[9, 2])]), &paths);
    assert_eq!(traffic(&t, 0), (NextHop::Port(3), wm(1, 50)));
    // Paths do not beat an equally close ancestor.
    let paths = [path(2, 3, 50, NOW)];
    let t = table(&with_parent(vec![peer(2, &[9, 2])]), &paths);
    assert_eq!(traffic(&t, 1), (NextHop::Port(2), wm(2, 0)));
}

#[test]
fn step5_paths_worse_than_the_frames_watermark_are_skipped() {
    let paths = [path(1, 3, 50, NOW)];
    let t = table(&with_parent(vec![peer(2, &[9, 2])]), &paths);
    // The frame already followed a newer path to 1: this one is stale.
    let r = t.snek_next_hop(&k(1), wm(1, 51), NOW);
    assert_eq!((r.next, r.watermark), (NextHop::Port(2), wm(2, 0)));
    // Same sequence or a zero one is fine.
    let r = t.snek_next_hop(&k(1), wm(1, 50), NOW);
    assert_eq!((r.next, r.watermark), (NextHop::Port(3), wm(1, 50)));
    let r = t.snek_next_hop(&k(1), wm(1, 0), NOW);
    assert_eq!((r.next, r.watermark), (NextHop::Port(3), wm(1, 50)));
    // A frame already routed toward a lower key never takes a higher one.
    let r = t.snek_next_hop(&k(0), wm(0, 7), NOW);
    assert_eq!(r.watermark, wm(2, 0));
}

#[test]
fn step5_expired_paths_are_skipped_and_bootstraps_ignore_their_own_key() {
    let expired = Millis(NOW.0 - 10_000);
    let paths = [path(1, 3, 50, expired)];
    let t = table(&with_parent(vec![peer(2, &[9, 2])]), &paths);
    assert_eq!(traffic(&t, 1), (NextHop::Port(2), wm(2, 0)));
    let paths = [path(1, 3, 50, NOW), path(2, 5, 9, NOW)];
    let t = table(&with_parent(vec![]), &paths);
    assert_eq!(bootstrap(&t, 1), (NextHop::Port(5), wm(2, 9)));
}

#[test]
fn step6_several_links_to_the_best_key_prefer_speed_then_order() {
    let mut slow_early = peer(2, &[9, 6]);
    slow_early.order = 1;
    let mut fast_late = peer(3, &[9, 6]);
    fast_late.peer_type = PeerType::Multicast;
    fast_late.order = 9;
    let mut fast_early = peer(5, &[9, 6]);
    fast_early.peer_type = PeerType::Multicast;
    fast_early.order = 4;
    let t = table(&with_parent(vec![slow_early, fast_late, fast_early]), &[]);
    assert_eq!(traffic(&t, 6), (NextHop::Port(5), wm(6, 0)));
}
