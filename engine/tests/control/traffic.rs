//! Traffic: local delivery and the coordinates cache, tree routing with
//! SNEK fallback, loops, hop limiting, and what a forwarding plane gets
//! from the routing table.

use crate::solo::{Solo, ME};
use pinecone_engine::control::{
    Delivery, DropReason, Millis, RouterConfig, SendError, TrafficAction,
};
use pinecone_engine::wire::{Coords, Frame, PublicKey, Watermark};
use pinecone_netkit::frames::{announcement, of_type, traffic, TRAFFIC};

const A: usize = 8;
const B: usize = 6;
const W: usize = 2;

/// Us under root A (sequence 3, our coordinates `[9]`), plus W as a child
/// at `[9 w]`; returns (a, w).
fn tree(solo: &mut Solo) -> (u64, u64) {
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    let frame = announcement(
        3,
        &[(&solo.keys[A], 9), (&solo.keys[ME], w), (&solo.keys[W], 1)],
    );
    solo.feed(w, &frame).unwrap();
    solo.out();
    (a, w)
}

fn sent_traffic(solo: &mut Solo) -> Vec<(u64, Coords, Option<Watermark>, u8)> {
    of_type(&solo.out(), TRAFFIC)
        .iter()
        .map(|t| {
            let Ok(Frame::Traffic(f)) = Frame::parse(&t.frame) else {
                panic!("not traffic");
            };
            (
                t.port,
                f.dest_coords().to_coords(),
                f.wire_watermark(),
                f.hop_limit(),
            )
        })
        .collect()
}

#[test]
fn traffic_for_us_is_delivered_and_its_source_coordinates_cached() {
    let mut solo = Solo::quiet();
    let (a, _) = tree(&mut solo);
    let src = solo.key(B);
    solo.feed(
        a,
        &traffic(solo.own(), &[9], src, Watermark::FRESH, b"hello"),
    )
    .unwrap();
    assert_eq!(
        solo.router.poll_delivery(),
        Some(Delivery {
            source: src,
            payload: b"hello".to_vec()
        })
    );
    assert_eq!(
        solo.router.coords_cache().get(&src, solo.now),
        Some(&Coords(vec![1]))
    );
    // A reply is tree routed to the cached coordinates: via A, at [].
    solo.router.send(src, b"back", solo.now).unwrap();
    let sent = sent_traffic(&mut solo);
    assert_eq!(sent, vec![(a, Coords(vec![1]), None, 10)]);
    // A minute later the cache is stale and the reply is SNEK routed:
    // toward the root, via the parent.
    solo.advance(60_000);
    solo.out();
    assert!(solo.router.coords_cache().get(&src, solo.now).is_none());
    solo.router.send(src, b"back", solo.now).unwrap();
    let toward_root = Watermark {
        key: solo.key(A),
        seq: 0,
    };
    assert_eq!(
        sent_traffic(&mut solo),
        vec![(a, Coords::ROOT, Some(toward_root), 10)]
    );
}

#[test]
fn a_root_change_clears_the_cache() {
    let mut solo = Solo::quiet();
    let (a, _) = tree(&mut solo);
    let src = solo.key(B);
    solo.feed(a, &traffic(solo.own(), &[9], src, Watermark::FRESH, b"x"))
        .unwrap();
    assert!(solo.router.coords_cache().get(&src, solo.now).is_some());
    solo.feed(
        a,
        &announcement(1, &[(&solo.keys[9], 4), (&solo.keys[A], 9)]),
    )
    .unwrap();
    assert!(solo.router.coords_cache().is_empty());
}

#[test]
fn without_a_closer_tree_peer_traffic_falls_back_to_snek() {
    let mut solo = Solo::quiet();
    let (a, w) = tree(&mut solo);
    let src = solo.key(A);
    // Coordinates no peer is closer to than we are, for W.
    solo.feed(
        a,
        &traffic(solo.key(W), &[9, 77, 77], src, Watermark::FRESH, b"x"),
    )
    .unwrap();
    let sent = sent_traffic(&mut solo);
    let wm = Watermark {
        key: solo.key(W),
        seq: 0,
    };
    assert_eq!(sent, vec![(w, Coords::ROOT, Some(wm), 10)]);
    // Our own coordinates with someone else's key: stale, so SNEK too.
    solo.feed(a, &traffic(solo.key(W), &[9], src, Watermark::FRESH, b"x"))
        .unwrap();
    assert_eq!(
        sent_traffic(&mut solo),
        vec![(w, Coords::ROOT, Some(wm), 10)]
    );
    assert!(solo.router.poll_delivery().is_none());
    // Coordinates of a closer peer: tree routed, coordinates kept.
    solo.feed(
        a,
        &traffic(solo.key(W), &[9, w], src, Watermark::FRESH, b"x"),
    )
    .unwrap();
    assert_eq!(
        sent_traffic(&mut solo),
        vec![(w, Coords(vec![9, w]), None, 10)]
    );
}

#[test]
fn traffic_goes_back_where_it_came_from_only_with_a_better_watermark() {
    let mut solo = Solo::quiet();
    let (a, _) = tree(&mut solo);
    let src = solo.key(W);
    let at_a = Watermark {
        key: solo.key(A),
        seq: 0,
    };
    // Already routed toward A with A's own watermark: sending it back
    // would not improve it, so it is a loop.
    solo.feed(a, &traffic(solo.key(A), &[], src, at_a, b"x"))
        .unwrap();
    assert!(solo.out().is_empty());
    assert_eq!(solo.router.counters().loops, 1);
    // Sent with a fresh watermark by a node that did not know A: here the
    // watermark improves to A's, so it goes back to A.
    solo.feed(a, &traffic(solo.key(A), &[], src, Watermark::FRESH, b"x"))
        .unwrap();
    assert_eq!(
        sent_traffic(&mut solo),
        vec![(a, Coords::ROOT, Some(at_a), 10)]
    );
    assert_eq!(solo.router.counters().loops, 1);
}

#[test]
fn hop_limiting_decrements_and_drops_at_one() {
    let mut solo = Solo::new(RouterConfig {
        keepalives: false,
        wakeup_broadcasts: false,
        hop_limiting: true,
        ..RouterConfig::default()
    });
    let (a, w) = tree(&mut solo);
    let src = solo.key(A);
    solo.feed(a, &traffic(solo.key(W), &[], src, Watermark::FRESH, b"x"))
        .unwrap();
    assert_eq!(sent_traffic(&mut solo)[0].3, 9);
    let mut last_hop = traffic(solo.key(W), &[], src, Watermark::FRESH, b"x");
    last_hop[7] = 1;
    solo.feed(a, &last_hop).unwrap();
    assert!(solo.out().is_empty());
    assert_eq!(solo.router.counters().hop_limit_drops, 1);
    assert_ne!(a, w);
}

#[test]
fn sends_to_ourselves_are_delivered_and_oversized_ones_refused() {
    let mut solo = Solo::quiet();
    let own = solo.own();
    solo.router.send(own, b"me", solo.now).unwrap();
    assert_eq!(
        solo.router.poll_delivery().map(|d| d.payload),
        Some(b"me".to_vec())
    );
    let big = vec![0u8; 70_000];
    assert!(matches!(
        solo.router.send(own, &big, solo.now),
        Err(SendError::TooLarge { .. })
    ));
    // Nobody to send to.
    assert_eq!(
        solo.router.send(PublicKey([0; 32]), b"x", solo.now),
        Err(SendError::NoRoute(DropReason::Unroutable))
    );
}

#[test]
fn undrained_deliveries_are_capped() {
    let mut solo = Solo::new(RouterConfig {
        keepalives: false,
        wakeup_broadcasts: false,
        max_pending_deliveries: 1,
        ..RouterConfig::default()
    });
    let own = solo.own();
    solo.router.send(own, b"1", solo.now).unwrap();
    solo.router.send(own, b"2", solo.now).unwrap();
    assert_eq!(solo.router.counters().deliveries_dropped, 1);
    assert_eq!(
        solo.router.poll_delivery().map(|d| d.payload),
        Some(b"1".to_vec())
    );
    assert!(solo.router.poll_delivery().is_none());
}

#[test]
fn a_forwarding_plane_gets_the_same_decision_from_the_published_table() {
    let mut solo = Solo::quiet();
    let (a, w) = tree(&mut solo);
    let table = solo.router.take_table_update().expect("changed");
    assert!(
        solo.router.take_table_update().is_none(),
        "nothing changed since"
    );
    let raw = traffic(solo.key(W), &[], solo.key(A), Watermark::FRESH, b"payload");
    let Ok(Frame::Traffic(frame)) = Frame::parse(&raw) else {
        panic!("not traffic");
    };
    let TrafficAction::Forward(forwarding) = table.route_traffic(&frame, a, Millis(solo.now.0))
    else {
        panic!("not forwarded");
    };
    assert_eq!(forwarding.port, w);
    let bytes = forwarding.to_vec(&frame, &raw).unwrap();
    let mut buf = vec![0; 2];
    assert!(forwarding.emit(&frame, &raw, &mut buf).is_err());
    let mut buf = vec![0; forwarding.encoded_len(&frame, &raw)];
    assert_eq!(
        forwarding.emit(&frame, &raw, &mut buf).unwrap(),
        bytes.len()
    );
    assert_eq!(buf, bytes);
    // The router itself sends exactly those bytes.
    solo.feed(a, &raw).unwrap();
    let out = solo.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frame, bytes);
    // Traffic for our own key is for delivery.
    let raw = traffic(solo.own(), &[], solo.key(A), Watermark::FRESH, b"x");
    let Ok(Frame::Traffic(frame)) = Frame::parse(&raw) else {
        panic!("not traffic");
    };
    assert_eq!(
        table.route_traffic(&frame, a, solo.now),
        TrafficAction::Deliver
    );
}

/// Two peerings to the same child: tree routing takes the faster medium,
/// then the one whose announcement arrived first.
#[test]
fn tree_routing_ties_prefer_the_faster_then_the_earlier_link() {
    let mut solo = Solo::quiet();
    let (a, w) = tree(&mut solo);
    let slow_late = solo.add(W);
    let fast = solo.add_typed(W, pinecone_engine::control::PeerType::Pipe);
    // W's announcement on every link carries its coordinates [9 w].
    for port in [slow_late, fast] {
        let frame = announcement(
            3,
            &[(&solo.keys[A], 9), (&solo.keys[ME], w), (&solo.keys[W], 2)],
        );
        solo.feed(port, &frame).unwrap();
    }
    solo.out();
    let src = solo.key(A);
    solo.feed(
        a,
        &traffic(solo.key(B), &[9, w, 5], src, Watermark::FRESH, b"x"),
    )
    .unwrap();
    assert_eq!(sent_traffic(&mut solo)[0].0, fast);
    // Without the pipe: the two remote links tie; the earlier announcement
    // (on `w`) wins.
    solo.router.remove_peer(fast, solo.now);
    solo.feed(
        a,
        &traffic(solo.key(B), &[9, w, 5], src, Watermark::FRESH, b"x"),
    )
    .unwrap();
    assert_eq!(sent_traffic(&mut solo)[0].0, w);
}

#[test]
fn hop_limiting_is_switched_while_running_and_published() {
    let mut solo = Solo::quiet();
    let (a, w) = tree(&mut solo);
    assert!(!solo.router.hop_limiting());
    solo.router.take_table_update();
    let src = solo.key(A);
    let mut last_hop = traffic(solo.key(W), &[], src, Watermark::FRESH, b"x");
    last_hop[7] = 1;
    solo.feed(a, &last_hop).unwrap();
    assert_eq!(sent_traffic(&mut solo)[0].3, 1, "forwarded untouched");

    solo.router.set_hop_limiting(true);
    assert!(solo.router.hop_limiting());
    let table = solo.router.take_table_update().expect("republished");
    assert!(table.hop_limiting());
    solo.feed(a, &last_hop).unwrap();
    assert!(solo.out().is_empty());
    assert_eq!(solo.router.counters().hop_limit_drops, 1);

    solo.router.set_hop_limiting(false);
    assert!(!solo
        .router
        .take_table_update()
        .expect("republished")
        .hop_limiting());
    solo.feed(a, &last_hop).unwrap();
    assert_eq!(sent_traffic(&mut solo)[0].3, 1);
    assert_ne!(a, w);
}
