//! The spanning tree: every row of the announcement decision table, parent
//! selection (expiry, loops, ties), the re-parent wait, replay rejection,
//! root re-announcement and the reset when the last peer goes.

use crate::solo::{Solo, ME};
use pinecone_engine::control::{Event, PeerError, RemovalReason};
use pinecone_engine::wire::{AnnouncementError, Coords, Watermark};
use pinecone_netkit::frames::{
    announcement, bootstrap, of_type, ports_of_type, read_announcement, ANNOUNCEMENT,
};

const A: usize = 8; // a stronger key: the root in most tests
const B: usize = 6; // stronger than us, weaker than A
const W: usize = 2; // weaker than us

const MINUTE: u64 = 60_000;

/// Us with A as parent (A is a root with sequence 3, sending on hop 9),
/// and a weaker peer W. Returns (port of A, port of W).
fn with_parent_a(solo: &mut Solo) -> (u64, u64) {
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    assert_eq!(solo.router.parent(), Some(a));
    solo.out();
    solo.events();
    (a, w)
}

#[test]
fn a_new_router_roots_its_own_tree() {
    let mut solo = Solo::quiet();
    assert_eq!(solo.router.root(), (solo.own(), 1));
    assert_eq!(solo.router.parent(), None);
    assert_eq!(solo.router.coords(), Coords::ROOT);
    let port = solo.add(W);
    let out = solo.out();
    assert_eq!(ports_of_type(&out, ANNOUNCEMENT), vec![port]);
    let sent = read_announcement(&out[0].frame, &solo.own());
    assert_eq!(sent.root, solo.own());
    assert_eq!(sent.seq, 1);
    assert_eq!(sent.signers, vec![solo.own()]);
    assert_eq!(sent.hops, vec![port]);
}

#[test]
fn stronger_root_from_another_peer_becomes_parent_and_is_reannounced() {
    let mut solo = Solo::quiet();
    let a = solo.add(A);
    let w = solo.add(W);
    solo.out();
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    assert_eq!(solo.router.parent(), Some(a));
    assert_eq!(solo.router.root(), (solo.key(A), 3));
    assert_eq!(solo.router.coords(), Coords(vec![9]));
    let out = solo.out();
    assert_eq!(ports_of_type(&out, ANNOUNCEMENT), vec![a, w]);
    for t in of_type(&out, ANNOUNCEMENT) {
        let sent = read_announcement(&t.frame, &solo.own());
        assert_eq!(sent.root, solo.key(A));
        assert_eq!(sent.signers, vec![solo.key(A), solo.own()]);
        assert_eq!(sent.hops, vec![9, t.port]);
    }
    assert!(solo.events().contains(&Event::ParentChanged {
        parent: Some((a, solo.key(A)))
    }));
}

#[test]
fn weaker_root_is_answered_with_ours_except_on_a_first_announcement() {
    let mut solo = Solo::quiet();
    let w = solo.add(W);
    solo.out();
    // The first announcement crossed ours on the wire: no answer.
    solo.feed(w, &announcement(1, &[(&solo.keys[W], 4)]))
        .unwrap();
    assert!(of_type(&solo.out(), ANNOUNCEMENT).is_empty());
    // A later one gets our stronger root back, to that peer only.
    let other = solo.add(1);
    solo.out();
    solo.feed(w, &announcement(2, &[(&solo.keys[W], 4)]))
        .unwrap();
    let out = solo.out();
    assert_eq!(ports_of_type(&out, ANNOUNCEMENT), vec![w]);
    assert_ne!(w, other);
    assert_eq!(
        read_announcement(&out[0].frame, &solo.own()).root,
        solo.own()
    );
    assert_eq!(solo.router.parent(), None);
}

#[test]
fn announcement_from_a_descendant_is_ignored() {
    let mut solo = Solo::quiet();
    let (a, _) = with_parent_a(&mut solo);
    let child = solo.add(B);
    solo.out();
    // The child took us as parent: its announcement carries our signature.
    let frame = announcement(
        4,
        &[
            (&solo.keys[A], 9),
            (&solo.keys[ME], child),
            (&solo.keys[B], 1),
        ],
    );
    solo.feed(child, &frame).unwrap();
    assert_eq!(solo.router.parent(), Some(a));
    assert!(solo.out().is_empty());
}

#[test]
fn same_root_from_another_peer_runs_parent_selection() {
    let mut solo = Solo::quiet();
    let (a, w) = with_parent_a(&mut solo);
    let b = solo.add(B);
    solo.out();
    // Same root and sequence, received later: the parent stays.
    solo.feed(
        b,
        &announcement(3, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]),
    )
    .unwrap();
    assert_eq!(solo.router.parent(), Some(a));
    assert!(solo.out().is_empty());
    // A newer sequence of the same root: B becomes the parent.
    solo.feed(
        b,
        &announcement(4, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]),
    )
    .unwrap();
    assert_eq!(solo.router.parent(), Some(b));
    assert_eq!(solo.router.coords(), Coords(vec![2, 5]));
    assert_eq!(ports_of_type(&solo.out(), ANNOUNCEMENT), vec![a, w, b]);
}

#[test]
fn parent_moving_on_is_accepted_and_reannounced() {
    let mut solo = Solo::quiet();
    let (a, w) = with_parent_a(&mut solo);
    // Same root, newer sequence.
    solo.feed(a, &announcement(4, &[(&solo.keys[A], 9)]))
        .unwrap();
    let out = solo.out();
    assert_eq!(ports_of_type(&out, ANNOUNCEMENT), vec![a, w]);
    assert_eq!(read_announcement(&out[0].frame, &solo.own()).seq, 4);
    // A stronger root through the same parent.
    let top = 9;
    let frame = announcement(1, &[(&solo.keys[top], 3), (&solo.keys[A], 9)]);
    solo.feed(a, &frame).unwrap();
    assert_eq!(solo.router.root(), (solo.key(top), 1));
    assert_eq!(solo.router.parent(), Some(a));
    assert_eq!(ports_of_type(&solo.out(), ANNOUNCEMENT), vec![a, w]);
}

/// Bad news from the parent: we root our own tree at once (a new sequence,
/// announced to all), store but ignore announcements for 1 s, then select.
fn bad_news_waits_then_reselects(bad: impl Fn(&Solo, u64) -> Vec<u8>) {
    let mut solo = Solo::quiet();
    let (a, w) = with_parent_a(&mut solo);
    let b = solo.add(B);
    solo.out();
    let frame = bad(&solo, b);
    solo.feed(a, &frame).unwrap();
    assert_eq!(solo.router.parent(), None);
    assert_eq!(solo.router.root(), (solo.own(), 2));
    let out = solo.out();
    assert_eq!(ports_of_type(&out, ANNOUNCEMENT), vec![a, w, b]);
    assert_eq!(
        read_announcement(&out[0].frame, &solo.own()).root,
        solo.own()
    );

    // During the wait a stronger offer is stored but not acted on.
    solo.advance(500);
    solo.feed(
        b,
        &announcement(7, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]),
    )
    .unwrap();
    assert_eq!(solo.router.parent(), None);
    assert!(solo.out().is_empty());

    solo.advance(499);
    assert_eq!(solo.router.parent(), None);
    solo.advance(1);
    assert_eq!(solo.router.parent(), Some(b));
    assert_eq!(solo.router.root(), (solo.key(A), 7));
}

#[test]
fn parent_repeating_the_same_sequence_is_bad_news() {
    // Re-signed after re-parenting: the same root and sequence on another
    // path (here the root sends on another hop).
    bad_news_waits_then_reselects(|solo, _| announcement(3, &[(&solo.keys[A], 7)]));
}

#[test]
fn parent_switching_to_a_weaker_root_is_bad_news() {
    bad_news_waits_then_reselects(|solo, _| {
        announcement(1, &[(&solo.keys[B + 1], 2), (&solo.keys[A], 9)])
    });
}

#[test]
fn parent_announcing_a_loop_is_bad_news() {
    bad_news_waits_then_reselects(|solo, b| {
        announcement(
            4,
            &[
                (&solo.keys[A + 1], 3),
                (&solo.keys[ME], b),
                (&solo.keys[B], 1),
                (&solo.keys[A], 9),
            ],
        )
    });
}

#[test]
fn replayed_sequence_disconnects_only_that_peer() {
    let mut solo = Solo::quiet();
    let (a, w) = with_parent_a(&mut solo);
    assert_eq!(
        solo.feed(a, &announcement(2, &[(&solo.keys[A], 9)])),
        Err(PeerError::Replay)
    );
    let removed = solo.events().into_iter().find_map(|e| match e {
        Event::PeerRemoved { port, reason, .. } => Some((port, reason)),
        _ => None,
    });
    assert_eq!(removed, Some((a, RemovalReason::Error(PeerError::Replay))));
    assert_eq!(
        solo.router
            .peers()
            .iter()
            .map(|p| p.port)
            .collect::<Vec<_>>(),
        vec![w]
    );
    assert_eq!(
        solo.feed(a, &announcement(5, &[(&solo.keys[A], 9)])),
        Err(PeerError::UnknownPort)
    );
}

#[test]
fn bad_announcements_disconnect() {
    let mut solo = Solo::quiet();
    let a = solo.add(A);
    let mut frame = announcement(3, &[(&solo.keys[A], 9)]);
    let last = frame.len() - 1;
    frame[last] ^= 1;
    assert!(matches!(
        solo.feed(a, &frame),
        Err(PeerError::BadAnnouncement(
            AnnouncementError::BadSignature { index: 0, .. }
        ))
    ));
    let b = solo.add(B);
    // Signed by A but sent by B.
    let frame = announcement(3, &[(&solo.keys[A], 9)]);
    assert_eq!(
        solo.feed(b, &frame),
        Err(PeerError::BadAnnouncement(
            AnnouncementError::LastSignerNotPeer
        ))
    );
    let c = solo.add(W);
    assert!(matches!(
        solo.feed(c, b"pine\x00\x01\x00\x00\x00\x0b\x00"),
        Err(PeerError::Malformed(_))
    ));
    assert!(solo.router.peers().is_empty());
}

#[test]
fn expired_announcements_are_not_parent_candidates() {
    let mut solo = Solo::quiet();
    let (a, _) = with_parent_a(&mut solo);
    let b = solo.add(B);
    let offer = announcement(3, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]);
    solo.feed(b, &offer).unwrap();
    // A's announcement was received first: it stays the parent.
    assert_eq!(solo.router.parent(), Some(a));
    solo.advance(45 * MINUTE - 1);
    let moved = announcement(3, &[(&solo.keys[A], 3), (&solo.keys[B], 5)]);
    solo.feed(b, &moved).unwrap();
    assert_eq!(solo.router.parent(), Some(a));
    solo.advance(1);
    // A's announcement is now 45 minutes old.
    solo.feed(b, &offer).unwrap();
    assert_eq!(solo.router.parent(), Some(b));
}

#[test]
fn losing_the_parent_selects_the_next_best_but_never_a_descendant() {
    let mut solo = Solo::quiet();
    let (a, _) = with_parent_a(&mut solo);
    let b = solo.add(B);
    let child = solo.add(A + 1);
    solo.feed(
        b,
        &announcement(3, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]),
    )
    .unwrap();
    // A descendant offering a newer sequence of the same root.
    let frame = announcement(
        4,
        &[
            (&solo.keys[A], 9),
            (&solo.keys[ME], child),
            (&solo.keys[A + 1], 1),
        ],
    );
    solo.feed(child, &frame).unwrap();
    solo.out();
    solo.router.remove_peer(a, solo.now);
    assert_eq!(solo.router.parent(), Some(b));
    assert_eq!(solo.router.root(), (solo.key(A), 3));
    solo.out();
    solo.router.remove_peer(b, solo.now);
    // Only the descendant offers a root now: we root our own tree.
    assert_eq!(solo.router.parent(), None);
    assert_eq!(solo.router.root(), (solo.own(), 2));
    let out = solo.out();
    assert_eq!(
        read_announcement(&of_type(&out, ANNOUNCEMENT)[0].frame, &solo.own()).root,
        solo.own()
    );
}

#[test]
fn a_root_reannounces_every_30_minutes_and_a_child_does_not() {
    let mut solo = Solo::quiet();
    let w = solo.add(W);
    solo.out();
    solo.advance(30 * MINUTE - 1);
    assert!(solo.out().is_empty());
    solo.advance(1);
    let out = solo.out();
    assert_eq!(ports_of_type(&out, ANNOUNCEMENT), vec![w]);
    assert_eq!(read_announcement(&out[0].frame, &solo.own()).seq, 2);
    solo.advance(30 * MINUTE);
    assert_eq!(read_announcement(&solo.out()[0].frame, &solo.own()).seq, 3);

    let mut solo = Solo::quiet();
    with_parent_a(&mut solo);
    solo.advance(30 * MINUTE);
    assert!(of_type(&solo.out(), ANNOUNCEMENT).is_empty());
}

#[test]
fn losing_the_last_peer_resets_everything() {
    let mut solo = Solo::quiet();
    let (a, w) = with_parent_a(&mut solo);
    // A bootstrap from the weaker peer sets up a path and our descending node.
    let root = solo.router.root();
    solo.feed(
        w,
        &bootstrap(&solo.keys[W], solo.now.0, root, Watermark::FRESH),
    )
    .unwrap();
    assert_eq!(solo.router.descending(), Some(solo.key(W)));
    assert_eq!(solo.router.routing_table().path_count(), 1);
    solo.events();
    solo.router.remove_peer(a, solo.now);
    solo.router.remove_peer(w, solo.now);
    assert_eq!(solo.router.parent(), None);
    assert_eq!(solo.router.descending(), None);
    // Becoming root when A went, then the reset, each moved the sequence on.
    assert_eq!(solo.router.root(), (solo.own(), 3));
    assert_eq!(solo.router.routing_table().path_count(), 0);
    let events = solo.events();
    assert!(events.contains(&Event::PathRemoved { key: solo.key(W) }));
    assert!(events.contains(&Event::DescendingChanged { key: None }));
    // A new peering starts from a blank slate: receive order restarts.
    let again = solo.add(A);
    solo.feed(again, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    assert_eq!(solo.router.peers()[0].order, Some(1));
}

#[test]
fn counters_follow_frames_signatures_and_tree_changes() {
    let mut solo = Solo::quiet();
    let start = solo.router.counters();
    assert_eq!((start.root_changes, start.parent_changes), (0, 0));
    let (a, w) = with_parent_a(&mut solo);
    let counters = solo.router.counters();
    assert_eq!(counters.frames_received.tree_announcement, 1);
    // Ours to A and W when each was added, and again to both under A.
    assert_eq!(counters.frames_sent.tree_announcement, 4);
    assert_eq!(counters.signatures.announcement_checks, 1);
    assert_eq!(counters.signatures.announcement_failures, 0);
    assert_eq!((counters.root_changes, counters.parent_changes), (1, 1));

    // A keepalive and a frame of no known type.
    solo.feed(w, &[b'p', b'i', b'n', b'e', 0, 0, 0, 0, 0, 10])
        .unwrap();
    solo.feed(w, &[b'p', b'i', b'n', b'e', 0, 9, 0, 0, 0, 10])
        .unwrap();
    let counters = solo.router.counters();
    assert_eq!(counters.frames_received.keepalive, 1);
    assert_eq!(counters.frames_received.unknown, 1);

    // A badly signed announcement from the parent: it is cut off, and we
    // root our own tree again.
    let mut frame = announcement(4, &[(&solo.keys[A], 9)]);
    let last = frame.len() - 1;
    frame[last] ^= 1;
    assert!(solo.feed(a, &frame).is_err());
    let counters = solo.router.counters();
    assert_eq!(counters.frames_received.tree_announcement, 2);
    assert_eq!(counters.signatures.announcement_checks, 2);
    assert_eq!(counters.signatures.announcement_failures, 1);
    assert_eq!(solo.router.parent(), None);
    assert_eq!((counters.root_changes, counters.parent_changes), (2, 2));
}
