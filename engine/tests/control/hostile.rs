//! Hostile input: arbitrary and mutated frames never panic and only ever
//! close the sending peering; floods of valid but distinct keys stay within
//! the caps.

use crate::solo::{Solo, ME};
use pinecone_engine::control::{Event, Port, RouterConfig};
use pinecone_engine::wire::{PublicKey, Watermark};
use pinecone_netkit::frames::{announcement, bootstrap, broadcast, traffic};
use pinecone_netkit::keys::signing_key;
use proptest::prelude::*;

const A: usize = 8;
const W: usize = 2;

/// Us under root A with W as a child, and a few valid frames to mutate.
fn setup() -> (Solo, Port, Port, Vec<Vec<u8>>) {
    let mut solo = Solo::new(RouterConfig::default());
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    let root = solo.router.root();
    let samples = vec![
        announcement(
            3,
            &[(&solo.keys[A], 9), (&solo.keys[ME], w), (&solo.keys[W], 1)],
        ),
        bootstrap(&solo.keys[W], 1_000, root, Watermark::FRESH),
        broadcast(&solo.keys[W], 1_000, root, 5),
        traffic(
            solo.key(A),
            &[9, 1],
            solo.key(W),
            Watermark::FRESH,
            b"payload",
        ),
        traffic(
            solo.key(A),
            &[],
            solo.key(W),
            Watermark {
                key: solo.key(A),
                seq: 3,
            },
            b"",
        ),
    ];
    (solo, a, w, samples)
}

/// Feeds `frame` on `w`; an error must have removed exactly that peer.
fn feed_checked(solo: &mut Solo, a: Port, w: Port, frame: &[u8]) -> Result<(), TestCaseError> {
    let result = solo.feed(w, frame);
    let ports: Vec<Port> = solo.router.peers().iter().map(|p| p.port).collect();
    if result.is_err() {
        prop_assert_eq!(ports, vec![a]);
    } else {
        prop_assert_eq!(ports, vec![a, w]);
    }
    solo.out();
    solo.events();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (mut solo, a, w, _) = setup();
        feed_checked(&mut solo, a, w, &bytes)?;
    }

    #[test]
    fn mutated_frames_never_panic(
        pick in 0usize..5,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (mut solo, a, w, samples) = setup();
        let mut frame = samples[pick].clone();
        for (at, byte) in flips {
            let i = at.index(frame.len());
            // Keep the header's length honest so the body gets parsed.
            if !(8..10).contains(&i) {
                frame[i] = byte;
            }
        }
        feed_checked(&mut solo, a, w, &frame)?;
        // The router still works afterwards.
        solo.advance(6_000);
    }
}

#[test]
fn floods_of_distinct_keys_stay_within_the_caps() {
    let mut solo = Solo::new(RouterConfig {
        keepalives: false,
        max_paths: 8,
        max_seen_broadcasts: 8,
        max_cached_coords: 8,
        max_pending_events: 16,
        max_pending_deliveries: 16,
        ..RouterConfig::default()
    });
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    let root = solo.router.root();
    for i in 0..40 {
        let key = signing_key(991, i);
        solo.feed(w, &bootstrap(&key, 1_000, root, Watermark::FRESH))
            .unwrap();
        solo.feed(w, &broadcast(&key, 1_000, root, 1)).unwrap();
        let src = PublicKey([i as u8; 32]);
        solo.feed(a, &traffic(solo.own(), &[], src, Watermark::FRESH, b"x"))
            .unwrap();
        let frame = traffic(solo.own(), &[9, 1], src, Watermark::FRESH, b"x");
        solo.feed(a, &frame).unwrap();
    }
    assert!(solo.router.routing_table().path_count() <= 8);
    assert!(solo.router.seen_broadcasts() <= 8);
    assert!(solo.router.coords_cache().len() <= 8);
    let counters = solo.router.counters();
    assert!(counters.paths_refused > 0);
    assert!(counters.events_dropped > 0);
    assert!(counters.deliveries_dropped > 0);
    let events: Vec<Event> = solo.events();
    assert_eq!(events.len(), 16);
}
