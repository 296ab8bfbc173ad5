//! SNEK in a router: bootstrap cadence, bootstrap handling at each hop
//! (signature, root and sequence rules), path entries and their expiry and
//! cap, the descending node, and watermark drops.

use crate::solo::{Solo, ME};
use pinecone_engine::control::{
    BootstrapError, Event, NextHop, PeerError, Port, RemovalReason, RouterConfig,
};
use pinecone_engine::wire::{BootstrapRepr, Frame, PublicKey, RootPayload, Watermark};
use pinecone_netkit::frames::{
    announcement, bootstrap, of_type, root_payload, traffic, BOOTSTRAP, TRAFFIC,
};

const A: usize = 8; // the root, our parent
const V: usize = 3; // weaker than us, our child
const W: usize = 2; // weaker still

/// Us under root A (sequence 3), with peer W attached; returns (a, w).
fn under_a(solo: &mut Solo) -> (u64, u64) {
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    solo.out();
    solo.events();
    (a, w)
}

/// Attaches V as our child (its announcement runs through us).
fn child_v(solo: &mut Solo) -> u64 {
    let v = solo.add(V);
    let frame = announcement(
        3,
        &[(&solo.keys[A], 9), (&solo.keys[ME], v), (&solo.keys[V], 1)],
    );
    solo.feed(v, &frame).unwrap();
    solo.out();
    v
}

fn bootstrap_from(solo: &Solo, index: usize, seq: u64) -> Vec<u8> {
    bootstrap(&solo.keys[index], seq, (solo.key(A), 3), Watermark::FRESH)
}

#[test]
fn bootstraps_go_out_every_5_seconds_only_with_a_parent() {
    let mut solo = Solo::quiet();
    solo.add(W);
    solo.out();
    solo.advance(20_000);
    assert!(
        of_type(&solo.out(), BOOTSTRAP).is_empty(),
        "a root does not bootstrap"
    );

    let mut solo = Solo::quiet();
    let (a, _) = under_a(&mut solo);
    solo.advance(1_000);
    let out = solo.out();
    let sent = of_type(&out, BOOTSTRAP);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].port, a);
    let Ok(Frame::Bootstrap(frame)) = Frame::parse(&sent[0].frame) else {
        panic!("not a bootstrap");
    };
    assert_eq!(frame.dest_key(), solo.own());
    assert_eq!(
        frame.watermark(),
        Watermark {
            key: solo.key(A),
            seq: 0
        }
    );
    let payload = RootPayload::parse(frame.payload()).unwrap();
    assert!(payload.verify(&solo.own()));
    assert_eq!(payload.sequence(), solo.now.0);
    assert_eq!((payload.root(), payload.root_seq()), (solo.key(A), 3));

    solo.advance(4_999);
    assert!(of_type(&solo.out(), BOOTSTRAP).is_empty());
    solo.advance(1);
    assert_eq!(of_type(&solo.out(), BOOTSTRAP).len(), 1);
}

#[test]
fn a_bootstrap_ending_here_sets_up_a_path_and_the_descending_node() {
    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    assert!(of_type(&solo.out(), BOOTSTRAP).is_empty());
    let table = solo.router.routing_table();
    let entry = table.path(&solo.key(W)).copied().unwrap();
    assert_eq!(
        (entry.source, entry.destination, entry.seq),
        (w, NextHop::Local, 1_000)
    );
    let events = solo.events();
    assert!(events.contains(&Event::PathAdded {
        key: solo.key(W),
        source: w
    }));
    assert!(events.contains(&Event::DescendingChanged {
        key: Some(solo.key(W))
    }));
    assert_eq!(solo.router.descending(), Some(solo.key(W)));
}

#[test]
fn a_bootstrap_is_forwarded_toward_the_next_key_up_with_a_new_watermark() {
    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    let v = child_v(&mut solo);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    let out = solo.out();
    let sent = of_type(&out, BOOTSTRAP);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].port, v);
    let Ok(Frame::Bootstrap(frame)) = Frame::parse(&sent[0].frame) else {
        panic!("not a bootstrap");
    };
    assert_eq!(
        frame.watermark(),
        Watermark {
            key: solo.key(V),
            seq: 0
        }
    );
    assert_eq!(frame.dest_key(), solo.key(W));
    let entry = solo
        .router
        .routing_table()
        .path(&solo.key(W))
        .copied()
        .unwrap();
    assert_eq!(entry.destination, NextHop::Port(v));
    // The same bootstrap arriving from V would go straight back: dropped,
    // though its path is still recorded.
    let before = solo.router.counters().loops;
    solo.feed(v, &bootstrap_from(&solo, W, 2_000)).unwrap();
    assert!(solo.out().is_empty());
    assert_eq!(solo.router.counters().loops, before + 1);
    assert_eq!(
        solo.router
            .routing_table()
            .path(&solo.key(W))
            .unwrap()
            .source,
        v
    );
}

/// A bootstrap for W's key, signed by `signer`, naming root A.
fn signed_by(solo: &Solo, signer: usize, seq: u64, root: (PublicKey, u64)) -> Vec<u8> {
    let payload = root_payload(&solo.keys[signer], seq, root);
    with_payload(solo.key(W), &payload)
}

fn with_payload(dest_key: PublicKey, payload: &[u8]) -> Vec<u8> {
    let repr = BootstrapRepr {
        hop_limit: 0,
        dest_key,
        watermark: Watermark::FRESH,
        payload,
    };
    let mut frame = vec![0; repr.encoded_len()];
    repr.emit(&mut frame).unwrap();
    frame
}

#[test]
fn foreign_or_stale_bootstraps_are_dropped_quietly() {
    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    // Another root, or another root sequence: dropped before the signature
    // is looked at, even a bad one.
    let foreign = [(solo.key(9), 3), (solo.key(A), 2)];
    for root in foreign {
        solo.feed(w, &bootstrap(&solo.keys[W], 1_000, root, Watermark::FRESH))
            .unwrap();
        solo.feed(w, &signed_by(&solo, V, 1_000, root)).unwrap();
    }
    assert_eq!(solo.router.routing_table().path_count(), 0);
    assert_eq!(solo.router.counters().bootstraps_dropped, 4);

    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.events();
    // Not newer than the stored one, whatever its signature.
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.feed(w, &bootstrap_from(&solo, W, 999)).unwrap();
    solo.feed(w, &signed_by(&solo, V, 1_000, (solo.key(A), 3)))
        .unwrap();
    assert_eq!(solo.router.counters().bootstraps_dropped, 7);
    assert_eq!(
        solo.router.routing_table().path(&solo.key(W)).unwrap().seq,
        1_000
    );
    // Newer: refreshed in place, no new path event.
    solo.feed(w, &bootstrap_from(&solo, W, 1_001)).unwrap();
    assert_eq!(
        solo.router.routing_table().path(&solo.key(W)).unwrap().seq,
        1_001
    );
    assert!(!solo
        .events()
        .iter()
        .any(|e| matches!(e, Event::PathAdded { .. })));
    assert_eq!(solo.router.peers().len(), 2);
}

#[test]
fn a_badly_signed_or_malformed_bootstrap_disconnects_its_sender() {
    let mut solo = Solo::quiet();
    let (a, w) = under_a(&mut solo);
    let v = solo.add(V);
    // Signed by V, claiming to be W's, for our root and newer than anything
    // known: only the signature is wrong.
    let forged = signed_by(&solo, V, 1_000, (solo.key(A), 3));
    let before = solo.router.counters().signatures;
    assert_eq!(
        solo.feed(w, &forged),
        Err(PeerError::BadBootstrap(BootstrapError::BadSignature))
    );
    let after = solo.router.counters().signatures;
    assert_eq!(after.bootstrap_checks, before.bootstrap_checks + 1);
    assert_eq!(after.bootstrap_failures, before.bootstrap_failures + 1);
    // A payload too short to parse.
    assert!(matches!(
        solo.feed(v, &with_payload(solo.key(W), b"short")),
        Err(PeerError::BadBootstrap(BootstrapError::Malformed(_)))
    ));
    let removed: Vec<(Port, RemovalReason)> = solo
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::PeerRemoved { port, reason, .. } => Some((port, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 2);
    assert_eq!(
        removed[0],
        (
            w,
            RemovalReason::Error(PeerError::BadBootstrap(BootstrapError::BadSignature))
        )
    );
    assert_eq!(removed[1].0, v);
    let ports: Vec<Port> = solo.router.peers().iter().map(|p| p.port).collect();
    assert_eq!(ports, vec![a]);
    assert_eq!(solo.router.routing_table().path_count(), 0);
    assert!(solo.out().is_empty(), "nothing forwarded");
}

#[test]
fn the_descending_node_is_the_closest_lower_key() {
    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    let low = solo.add(1);
    let v = solo.add(V);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(W)));
    // Closer: replaces.
    solo.feed(v, &bootstrap_from(&solo, V, 1_000)).unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(V)));
    // Farther, while the descending node is fresh: does not.
    solo.feed(low, &bootstrap_from(&solo, 1, 1_000)).unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(V)));
    // Stronger than us: never.
    let b = solo.add(6);
    solo.feed(b, &bootstrap_from(&solo, 6, 1_000)).unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(V)));
    // V stops refreshing; W keeps going. V's entry expires at 10 s.
    solo.advance(5_000);
    solo.feed(w, &bootstrap_from(&solo, W, 6_000)).unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(V)));
    solo.advance(5_000);
    assert_eq!(solo.router.descending(), None);
    solo.feed(w, &bootstrap_from(&solo, W, 11_000)).unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(W)));
}

#[test]
fn the_descending_node_goes_with_a_root_change_or_its_peering() {
    let mut solo = Solo::quiet();
    let (a, w) = under_a(&mut solo);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    // The root moves on; at the next tick the descending node is stale.
    solo.feed(a, &announcement(4, &[(&solo.keys[A], 9)]))
        .unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(W)));
    solo.advance(1_000);
    assert_eq!(solo.router.descending(), None);

    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.events();
    solo.router.remove_peer(w, solo.now);
    assert_eq!(solo.router.descending(), None);
    assert!(solo
        .events()
        .contains(&Event::PathRemoved { key: solo.key(W) }));
}

#[test]
fn paths_expire_after_10_seconds_and_go_after_the_grace() {
    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    solo.advance(500);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.events();
    solo.advance(9_499);
    assert_eq!(solo.router.routing_table().path_count(), 1);
    // Expired, but kept for the grace (5 s) in which frames already on it
    // may still follow it; removed at the first maintenance tick after that.
    solo.advance(1_001);
    assert_eq!(solo.router.routing_table().path_count(), 1);
    solo.advance(4_000);
    assert_eq!(solo.router.routing_table().path_count(), 1);
    solo.advance(1_000);
    assert_eq!(solo.router.routing_table().path_count(), 0);
    assert!(solo
        .events()
        .contains(&Event::PathRemoved { key: solo.key(W) }));
}

#[test]
fn the_path_cap_refuses_new_keys_but_refreshes_known_ones() {
    let mut solo = Solo::new(RouterConfig {
        keepalives: false,
        wakeup_broadcasts: false,
        max_paths: 1,
        ..RouterConfig::default()
    });
    let (_, w) = under_a(&mut solo);
    let v = solo.add(V);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.feed(v, &bootstrap_from(&solo, V, 1_000)).unwrap();
    assert_eq!(solo.router.routing_table().path_count(), 1);
    assert_eq!(solo.router.counters().paths_refused, 1);
    solo.feed(w, &bootstrap_from(&solo, W, 2_000)).unwrap();
    assert_eq!(
        solo.router.routing_table().path(&solo.key(W)).unwrap().seq,
        2_000
    );
}

#[test]
fn traffic_follows_paths_and_never_gets_a_worse_watermark() {
    let mut solo = Solo::quiet();
    let (a, w) = under_a(&mut solo);
    child_v(&mut solo);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.out();
    let src = solo.key(A);
    // A fresh frame for W takes the path, stamped with its sequence.
    solo.feed(a, &traffic(solo.key(W), &[], src, Watermark::FRESH, b"hi"))
        .unwrap();
    let out = solo.out();
    let sent = of_type(&out, TRAFFIC);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].port, w);
    let Ok(Frame::Traffic(frame)) = Frame::parse(&sent[0].frame) else {
        panic!("not traffic");
    };
    assert_eq!(
        frame.watermark(),
        Watermark {
            key: solo.key(W),
            seq: 1_000
        }
    );
    // A frame that already followed a newer path to W cannot use this one;
    // what is left (V) would raise its watermark: dropped.
    let newer = Watermark {
        key: solo.key(W),
        seq: 1_001,
    };
    solo.feed(a, &traffic(solo.key(W), &[], src, newer, b"hi"))
        .unwrap();
    assert!(solo.out().is_empty());
    assert_eq!(solo.router.counters().watermark_drops, 1);
}

#[test]
fn keys_nobody_closer_knows_are_unroutable_not_delivered() {
    let mut solo = Solo::quiet();
    let (a, _) = under_a(&mut solo);
    let stranger = PublicKey([0; 32]);
    solo.feed(
        a,
        &traffic(stranger, &[], solo.key(A), Watermark::FRESH, b"x"),
    )
    .unwrap();
    assert!(solo.out().is_empty());
    assert!(solo.router.poll_delivery().is_none());
    assert_eq!(solo.router.counters().unroutable, 1);
}

/// A runtime that publishes `take_table_update` before draining transmits
/// sees the path entry before the bootstrap that created it goes out, and
/// a snapshot it holds never changes under it.
#[test]
fn a_change_is_in_the_published_table_before_the_frame_it_causes() {
    let mut solo = Solo::quiet();
    let (_, w) = under_a(&mut solo);
    child_v(&mut solo);
    let before = solo.router.take_table_update().expect("tree changed");
    assert!(solo.router.take_table_update().is_none());
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    let published = solo.router.take_table_update().expect("a path was added");
    let forwarded = of_type(&solo.out(), BOOTSTRAP).len();
    assert_eq!(forwarded, 1);
    assert_eq!(published.path(&solo.key(W)).map(|e| e.seq), Some(1_000));
    assert!(
        before.path(&solo.key(W)).is_none(),
        "an old snapshot is immutable"
    );
    // Refreshing the path copies it for the new snapshot only.
    solo.feed(w, &bootstrap_from(&solo, W, 2_000)).unwrap();
    let newer = solo.router.take_table_update().unwrap();
    assert_eq!(newer.path(&solo.key(W)).map(|e| e.seq), Some(2_000));
    assert_eq!(published.path(&solo.key(W)).map(|e| e.seq), Some(1_000));
}

#[test]
fn the_routing_table_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<pinecone_engine::control::RoutingTable>();
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let table = solo.router.routing_table();
    let own = solo.own();
    let seen = std::thread::spawn(move || table.public_key())
        .join()
        .unwrap();
    assert_eq!(seen, own);
}
