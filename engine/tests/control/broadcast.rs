//! Wakeup broadcasts: the greeting to a newly announced peer, the periodic
//! flood, dedupe, the hop limit, classic and tree flooding, one copy per
//! peer key, and the errors that close a peering.

use crate::solo::{Solo, ME};
use pinecone_engine::control::{BroadcastError, Event, PeerError, PeerType, RouterConfig};
use pinecone_engine::wire::{Frame, RootPayload};
use pinecone_netkit::frames::{announcement, broadcast, of_type, ports_of_type, BROADCAST};

const A: usize = 8; // the root, our parent
const B: usize = 6;
const V: usize = 3;
const W: usize = 2;

fn config() -> RouterConfig {
    RouterConfig {
        keepalives: false,
        ..RouterConfig::default()
    }
}

/// Us under root A (sequence 3) on port `a`, plus W; returns (a, w).
fn under_a(solo: &mut Solo) -> (u64, u64) {
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    solo.out();
    solo.events();
    (a, w)
}

fn received(solo: &mut Solo) -> Vec<Event> {
    solo.events()
        .into_iter()
        .filter(|e| matches!(e, Event::BroadcastReceived { .. }))
        .collect()
}

#[test]
fn a_first_announcement_is_greeted_with_one_broadcast_per_key() {
    let mut solo = Solo::new(config());
    let a = solo.add(A);
    let a2 = solo.add_typed(A, PeerType::Pipe);
    solo.out();
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    let out = solo.out();
    assert_eq!(ports_of_type(&out, BROADCAST), vec![a]);
    let Ok(Frame::WakeupBroadcast(frame)) = Frame::parse(&of_type(&out, BROADCAST)[0].frame) else {
        panic!("not a broadcast");
    };
    assert_eq!(frame.hop_limit(), 5);
    assert_eq!(frame.source_key(), solo.own());
    let payload = RootPayload::parse(frame.payload()).unwrap();
    assert!(payload.verify(&solo.own()));
    assert_eq!((payload.root(), payload.root_seq()), (solo.key(A), 3));
    // The second link to A already has a greeted sibling.
    solo.feed(a2, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
    // Later announcements are not greeted again.
    solo.feed(a, &announcement(4, &[(&solo.keys[A], 9)]))
        .unwrap();
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
}

#[test]
fn broadcasts_go_out_every_minute_once_per_key_on_the_fastest_link() {
    let mut solo = Solo::new(config());
    let (_, w) = under_a(&mut solo);
    let fast = solo.add_typed(A, PeerType::Pipe);
    solo.out();
    solo.advance(59_999);
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
    solo.advance(1);
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![w, fast]);
    solo.advance(60_000);
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![w, fast]);
    // Disabled: none at all.
    let mut quiet = Solo::quiet();
    under_a(&mut quiet);
    quiet.advance(120_000);
    assert!(of_type(&quiet.out(), BROADCAST).is_empty());
}

#[test]
fn a_broadcast_is_reported_and_flooded_to_every_other_peer_while_young() {
    let mut solo = Solo::new(config());
    let (a, w) = under_a(&mut solo);
    let b = solo.add(B);
    solo.out();
    let root = solo.router.root();
    solo.feed(w, &broadcast(&solo.keys[W], 1_000, root, 5))
        .unwrap();
    assert_eq!(
        received(&mut solo),
        vec![Event::BroadcastReceived {
            key: solo.key(W),
            at: solo.now
        }]
    );
    let out = solo.out();
    assert_eq!(ports_of_type(&out, BROADCAST), vec![a, b]);
    for t in of_type(&out, BROADCAST) {
        assert_eq!(t.frame[7], 4, "hop limit decremented");
    }
}

#[test]
fn a_hop_limit_beyond_the_horizon_counts_as_the_horizon() {
    let mut solo = Solo::new(config());
    let (a, w) = under_a(&mut solo);
    let b = solo.add(B);
    solo.out();
    let root = solo.router.root();
    for (index, hop_limit) in [(W, 255), (V, 6)] {
        solo.feed(w, &broadcast(&solo.keys[index], 1_000, root, hop_limit))
            .unwrap();
        let out = solo.out();
        assert_eq!(ports_of_type(&out, BROADCAST), vec![a, b]);
        for t in of_type(&out, BROADCAST) {
            assert_eq!(t.frame[7], 4, "sent on as one of hop limit 5 would be");
        }
    }
}

#[test]
fn an_older_broadcast_is_flooded_along_the_tree_only() {
    let mut solo = Solo::new(config());
    let (a, w) = under_a(&mut solo);
    // A child (one tree hop down) and a cousin (two hops away).
    let v = solo.add(V);
    let frame = announcement(
        3,
        &[(&solo.keys[A], 9), (&solo.keys[ME], v), (&solo.keys[V], 1)],
    );
    solo.feed(v, &frame).unwrap();
    let b = solo.add(B);
    solo.feed(
        b,
        &announcement(3, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]),
    )
    .unwrap();
    solo.out();
    let root = solo.router.root();
    solo.feed(w, &broadcast(&solo.keys[W], 1_000, root, 3))
        .unwrap();
    let out = solo.out();
    assert_eq!(ports_of_type(&out, BROADCAST), vec![a, v]);
    assert!(of_type(&out, BROADCAST).iter().all(|t| t.frame[7] == 2));
    assert_ne!(b, a);
    // At hop limit 1 it is reported but goes no further.
    solo.feed(w, &broadcast(&solo.keys[B], 1_000, root, 1))
        .unwrap();
    assert_eq!(received(&mut solo).len(), 2);
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
}

#[test]
fn repeats_within_30_seconds_or_without_a_newer_sequence_are_dropped() {
    let mut solo = Solo::new(config());
    let (_, w) = under_a(&mut solo);
    let root = solo.router.root();
    let from_w = |solo: &Solo, seq| broadcast(&solo.keys[W], seq, root, 5);
    solo.feed(w, &from_w(&solo, 1_000)).unwrap();
    assert_eq!(received(&mut solo).len(), 1);
    solo.advance(29_999);
    solo.feed(w, &from_w(&solo, 2_000)).unwrap();
    assert!(received(&mut solo).is_empty());
    solo.advance(1);
    solo.feed(w, &from_w(&solo, 1_000)).unwrap();
    assert!(received(&mut solo).is_empty());
    solo.feed(w, &from_w(&solo, 3_000)).unwrap();
    assert_eq!(received(&mut solo).len(), 1);
    assert_eq!(solo.router.counters().broadcasts_dropped, 2);
}

#[test]
fn foreign_roots_and_our_own_echo_are_dropped_quietly() {
    let mut solo = Solo::new(config());
    let (a, w) = under_a(&mut solo);
    solo.feed(w, &broadcast(&solo.keys[W], 1_000, (solo.key(9), 3), 5))
        .unwrap();
    let root = solo.router.root();
    solo.feed(a, &broadcast(&solo.keys[ME], 1_000, root, 4))
        .unwrap();
    assert!(received(&mut solo).is_empty());
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
    assert_eq!(solo.router.peers().len(), 2);
}

#[test]
fn bad_broadcasts_disconnect_the_sender() {
    let mut solo = Solo::new(config());
    let (a, w) = under_a(&mut solo);
    let root = solo.router.root();
    let mut forged = broadcast(&solo.keys[W], 1_000, root, 5);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let before = solo.router.counters().signatures;
    assert_eq!(
        solo.feed(w, &forged),
        Err(PeerError::BadBroadcast(BroadcastError::BadSignature))
    );
    let after = solo.router.counters().signatures;
    assert_eq!(after.broadcast_checks, before.broadcast_checks + 1);
    assert_eq!(after.broadcast_failures, before.broadcast_failures + 1);
    let mut short = broadcast(&solo.keys[A], 1_000, root, 5);
    // Declare a payload one byte shorter than it is and trim the frame.
    short.truncate(short.len() - 1);
    let len = short.len() as u16;
    short[8..10].copy_from_slice(&len.to_be_bytes());
    let payload_len = u16::from_be_bytes([short[10], short[11]]) - 1;
    short[10..12].copy_from_slice(&payload_len.to_be_bytes());
    assert!(matches!(
        solo.feed(a, &short),
        Err(PeerError::BadBroadcast(BroadcastError::Malformed(_)))
    ));
    assert!(solo.router.peers().is_empty());
}

#[test]
fn the_seen_cap_forgets_the_oldest_source() {
    let mut solo = Solo::new(RouterConfig {
        max_seen_broadcasts: 2,
        ..config()
    });
    let (_, w) = under_a(&mut solo);
    let root = solo.router.root();
    for (i, index) in [W, V, B].into_iter().enumerate() {
        solo.advance(10);
        solo.feed(w, &broadcast(&solo.keys[index], 1_000 + i as u64, root, 1))
            .unwrap();
    }
    assert_eq!(solo.router.seen_broadcasts(), 2);
    assert_eq!(received(&mut solo).len(), 3);
    // W was forgotten: its repeat is news again (and evicts V); B's is
    // still a repeat.
    solo.feed(w, &broadcast(&solo.keys[W], 1_000, root, 1))
        .unwrap();
    solo.feed(w, &broadcast(&solo.keys[B], 1_002, root, 1))
        .unwrap();
    assert_eq!(
        received(&mut solo),
        vec![Event::BroadcastReceived {
            key: solo.key(W),
            at: solo.now
        }]
    );
}

#[test]
fn the_periodic_broadcast_is_switched_as_the_reference_switches_it() {
    let mut solo = Solo::new(config());
    let (a, w) = under_a(&mut solo);
    assert!(solo.router.wakeup_broadcasts());
    solo.router.set_wakeup_broadcasts(false, solo.now);
    assert!(!solo.router.wakeup_broadcasts());
    solo.advance(600_000);
    assert!(
        of_type(&solo.out(), BROADCAST).is_empty(),
        "no periodic flood"
    );
    // A peer's first announcement is still greeted, as in the reference.
    let b = solo.add(B);
    solo.out();
    solo.feed(
        b,
        &announcement(3, &[(&solo.keys[A], 9), (&solo.keys[B], 1)]),
    )
    .unwrap();
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![b]);
    // Turning it on floods at once, then every minute from then.
    solo.router.set_wakeup_broadcasts(true, solo.now);
    assert!(solo.router.wakeup_broadcasts());
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![a, w, b]);
    solo.advance(59_999);
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
    solo.advance(1);
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![a, w, b]);
}

#[test]
fn broadcasts_configured_off_can_be_switched_on() {
    let mut solo = Solo::quiet();
    let (a, w) = under_a(&mut solo);
    assert!(!solo.router.wakeup_broadcasts());
    solo.advance(120_000);
    assert!(of_type(&solo.out(), BROADCAST).is_empty());
    solo.router.set_wakeup_broadcasts(true, solo.now);
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![a, w]);
    solo.advance(60_000);
    assert_eq!(ports_of_type(&solo.out(), BROADCAST), vec![a, w]);
}
