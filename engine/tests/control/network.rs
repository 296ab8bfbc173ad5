//! Whole networks of routers: convergence to one root and reachability of
//! every node from every other, on several topologies.

use pinecone_netkit::shapes;

use crate::net::{build, Net};

/// Runs the network for `settle_ms`, then checks one root, consistent
/// coordinates, and that every ordered pair delivers.
fn converges(mut net: Net, settle_ms: u64) {
    net.run_for(settle_ms);
    assert!(net.one_root(), "more than one root");
    let missing = net.undelivered_pairs(2_000);
    assert!(
        missing.is_empty(),
        "{} of {} pairs undelivered, e.g. {:?}",
        missing.len(),
        net.len() * (net.len() - 1),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn line_converges() {
    converges(build(12, &shapes::line(12), 1), 20_000);
}

#[test]
fn ring_converges() {
    converges(build(16, &shapes::ring(16), 2), 20_000);
}

#[test]
fn star_converges() {
    converges(build(20, &shapes::star(20), 3), 20_000);
}

#[test]
fn grid_converges() {
    converges(build(36, &shapes::grid(6, 6), 4), 30_000);
}

#[test]
fn random_graph_converges() {
    converges(build(48, &shapes::random(48, 24, 5), 5), 30_000);
}

/// Given time, each node's descending node becomes the next key down (the
/// bootstraps of nodes that do not yet know their successor learn of it
/// from the paths other bootstraps set up).
#[test]
fn every_node_descends_to_the_next_key_down() {
    let n = 40;
    let mut net = build(n, &shapes::random(n, 20, 6), 6);
    net.run_for(90_000);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| net.key(i));
    for pair in order.windows(2) {
        let (lower, upper) = (pair[0], pair[1]);
        assert_eq!(
            net.router(upper).descending(),
            Some(net.key(lower)),
            "node {upper}'s descending node"
        );
    }
    assert_eq!(net.router(order[0]).descending(), None);
}

/// Probes every ordered pair once a second for `window_s` seconds and
/// returns the first second from which every round delivered every pair
/// (`None` if the last one did not).
fn delivers_again_after(net: &mut Net, window_s: u64) -> Option<u64> {
    let mut since = None;
    for second in 1..=window_s {
        net.run_for(800);
        if net.undelivered_pairs(200).is_empty() {
            since.get_or_insert(second);
        } else {
            since = None;
        }
    }
    since
}

/// Cutting links and restoring them, with traffic between every pair every
/// second: every pair delivers again within 15 seconds of restoring the
/// links. After a cut it takes longer: path entries leading into the cut
/// peering stay at the nodes before it until they expire (10 s; the
/// protocol has no teardown), and the bootstraps that follow them meanwhile
/// are lost, so the SNEK line repairs itself only with the next bootstrap
/// round after that.
#[test]
fn the_network_reconverges_after_churn() {
    let n = 30;
    let links = shapes::random(n, 15, 7);
    let mut net = build(n, &links, 7);
    net.run_for(20_000);
    // The extra links come after the spanning tree's, so cutting them
    // keeps the graph connected.
    let cut = links.len() - 3..links.len();
    for link in cut.clone() {
        net.disconnect(link);
    }
    let after_cut = delivers_again_after(&mut net, 25);
    assert!(net.one_root());
    assert!(
        after_cut.is_some_and(|s| s <= 20),
        "after cutting links: {after_cut:?}"
    );
    for link in cut {
        let (a, b) = links[link];
        net.connect(a as usize, b as usize);
    }
    let after_restore = delivers_again_after(&mut net, 20);
    assert!(
        after_restore.is_some_and(|s| s <= 15),
        "after restoring links: {after_restore:?}"
    );
}

/// Cached coordinates that went stale when part of the tree moved are
/// repaired by the first datagram coming back.
#[test]
fn stale_cached_coordinates_are_repaired_by_returning_traffic() {
    let n = 30;
    let links = shapes::random(n, 15, 7);
    let mut net = build(n, &links, 7);
    net.run_for(20_000);
    assert_eq!(net.undelivered_pairs(2_000), vec![]);
    for link in links.len() - 3..links.len() {
        net.disconnect(link);
    }
    net.run_for(15_500);
    // Some nodes still hold coordinates from before the cut; the nodes that
    // moved dropped theirs and reach everyone by SNEK, which refreshes the
    // others' caches.
    net.undelivered_pairs(2_000);
    assert_eq!(net.undelivered_pairs(2_000), vec![]);
}

/// Losing the root: the next strongest key takes over everywhere.
#[test]
fn the_network_survives_losing_its_root() {
    let n = 24;
    let mut net = build(n, &shapes::grid(6, 4), 8);
    net.run_for(20_000);
    let root = net.strongest();
    for link in 0..shapes::grid(6, 4).len() {
        let ends = shapes::grid(6, 4)[link];
        if ends.0 as usize == root || ends.1 as usize == root {
            net.disconnect(link);
        }
    }
    net.run_for(15_000);
    let mut keys: Vec<_> = (0..n).filter(|&i| i != root).map(|i| net.key(i)).collect();
    keys.sort();
    let next = *keys.last().unwrap();
    for i in (0..n).filter(|&i| i != root) {
        assert_eq!(net.router(i).root().0, next, "node {i}");
    }
}

/// Two peerings between the same pair of nodes work side by side, and
/// losing one keeps the other in use.
#[test]
fn parallel_peerings_between_two_nodes() {
    let mut net = build(6, &shapes::line(6), 9);
    let extra = net.connect(2, 3);
    net.run_for(10_000);
    assert!(net.undelivered_pairs(2_000).is_empty());
    net.disconnect(2); // the original 2–3 link
    net.run_for(10_000);
    assert!(net.undelivered_pairs(2_000).is_empty());
    assert!(net
        .router(2)
        .peers()
        .iter()
        .any(|p| p.port == net.port_of(extra, 2)));
}
