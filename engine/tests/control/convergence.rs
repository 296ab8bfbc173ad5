//! The rules that let the SNEK line settle sooner than the reference's
//! 5-second bootstrap rounds allow, and keep traffic flowing while paths
//! change: re-routing bootstraps that passed through when a closer key
//! arrives, bootstrapping at the next tick when our own route changes,
//! the grace for frames already on an expired path, and sending a frame
//! back where it came from when its watermark strictly improves.

use crate::solo::Solo;
use pinecone_engine::control::{NextHop, Port};
use pinecone_engine::wire::{BootstrapRepr, Frame, PublicKey, RootPayload, Watermark};
use pinecone_netkit::frames::{
    announcement, bootstrap, of_type, root_payload, traffic, BOOTSTRAP, TRAFFIC,
};

const A: usize = 8; // the root, our parent
const U: usize = 6; // between us and the root
const V: usize = 3; // just below us
const W: usize = 2; // below V
const X: usize = 1; // a weak peer that relays others' bootstraps

/// Us under root A (sequence 3); returns A's port.
fn under_a(solo: &mut Solo) -> Port {
    let a = solo.add(A);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    solo.out();
    solo.events();
    a
}

fn bootstrap_from(solo: &Solo, index: usize, seq: u64) -> Vec<u8> {
    bootstrap(&solo.keys[index], seq, (solo.key(A), 3), Watermark::FRESH)
}

/// The bootstraps in `out`: (port, sender, watermark, payload).
fn bootstraps(solo: &mut Solo) -> Vec<(Port, PublicKey, Watermark, Vec<u8>)> {
    let out = solo.out();
    of_type(&out, BOOTSTRAP)
        .into_iter()
        .map(|t| {
            let Ok(Frame::Bootstrap(frame)) = Frame::parse(&t.frame) else {
                panic!("not a bootstrap");
            };
            (
                t.port,
                frame.dest_key(),
                frame.watermark(),
                frame.payload().to_vec(),
            )
        })
        .collect()
}

#[test]
fn a_bootstrap_that_ended_here_goes_on_toward_a_closer_key_learned_before_its_next() {
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let w = solo.add(W);
    let x = solo.add(X);
    let w_bootstrap = bootstrap_from(&solo, W, 1_000);
    solo.feed(w, &w_bootstrap).unwrap();
    assert!(
        bootstraps(&mut solo).is_empty(),
        "nothing known between W and us"
    );

    // V (between W and us) bootstraps through X four seconds later, before
    // W's next bootstrap is due (our own went out meanwhile).
    solo.advance(4_000);
    solo.out();
    solo.feed(x, &bootstrap_from(&solo, V, 1_400)).unwrap();
    let sent = bootstraps(&mut solo);
    assert_eq!(sent.len(), 1, "V's bootstrap ends here; W's goes on");
    let (port, sender, watermark, payload) = &sent[0];
    assert_eq!((*port, *sender), (x, solo.key(W)));
    assert_eq!(
        *watermark,
        Watermark {
            key: solo.key(V),
            seq: 1_400
        }
    );
    let Ok(Frame::Bootstrap(original)) = Frame::parse(&w_bootstrap) else {
        panic!("not a bootstrap");
    };
    assert_eq!(
        payload.as_slice(),
        original.payload(),
        "W's own signed payload"
    );
    assert_eq!(solo.router.counters().bootstraps_rerouted, 1);
    let entry = solo.router.routing_table().path(&solo.key(W)).copied();
    assert_eq!(
        entry.map(|e| (e.source, e.destination)),
        Some((w, NextHop::Port(x)))
    );

    // V again (a refresh, not a new key): nothing more to re-route.
    solo.feed(x, &bootstrap_from(&solo, V, 1_500)).unwrap();
    assert!(bootstraps(&mut solo).is_empty());
    assert_eq!(solo.router.counters().bootstraps_rerouted, 1);
}

#[test]
fn only_a_verified_bootstrap_is_ever_re_routed() {
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let w = solo.add(W);
    let x = solo.add(X);
    let relay = solo.add(0);
    let w_bootstrap = bootstrap_from(&solo, W, 1_000);
    solo.feed(w, &w_bootstrap).unwrap();
    // A newer bootstrap claiming W's key but signed by V: refused (and its
    // sender dropped) instead of replacing the one kept for re-routing.
    let payload = root_payload(&solo.keys[V], 2_000, (solo.key(A), 3));
    let forged = BootstrapRepr {
        hop_limit: 0,
        dest_key: solo.key(W),
        watermark: Watermark::FRESH,
        payload: &payload,
    };
    let mut frame = vec![0; forged.encoded_len()];
    forged.emit(&mut frame).unwrap();
    assert!(solo.feed(relay, &frame).is_err());

    solo.advance(4_000);
    solo.out();
    solo.feed(x, &bootstrap_from(&solo, V, 1_400)).unwrap();
    let sent = bootstraps(&mut solo);
    assert_eq!(sent.len(), 1);
    let Ok(Frame::Bootstrap(original)) = Frame::parse(&w_bootstrap) else {
        panic!("not a bootstrap");
    };
    assert_eq!(sent[0].1, solo.key(W));
    assert_eq!(sent[0].3, original.payload(), "the payload verified here");
    let resent = RootPayload::parse(&sent[0].3).unwrap();
    assert!(resent.verify(&solo.key(W)));
}

#[test]
fn old_bootstraps_and_routes_back_to_their_source_are_not_re_routed() {
    // A closer key learned once the bootstrap's sender is due to send the
    // next one (5 s).
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let w = solo.add(W);
    let x = solo.add(X);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.advance(5_000);
    solo.out();
    solo.feed(x, &bootstrap_from(&solo, V, 6_000)).unwrap();
    assert!(bootstraps(&mut solo).is_empty());
    assert_eq!(solo.router.counters().bootstraps_rerouted, 0);

    // A closer key reached through the port the bootstrap came from.
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let w = solo.add(W);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.feed(w, &bootstrap_from(&solo, V, 1_000)).unwrap();
    assert!(bootstraps(&mut solo).is_empty());
    assert_eq!(solo.router.counters().bootstraps_rerouted, 0);
}

/// Us under A with silent peers X and W, and V's bootstrap through X: key
/// 0's bootstrap then comes from W and passes through toward V, a key we
/// know only by its path. Returns (X's port, W's port).
fn passing_through_toward_v(solo: &mut Solo) -> (Port, Port) {
    under_a(solo);
    let x = solo.add(X);
    let w = solo.add(W);
    solo.feed(x, &bootstrap_from(solo, V, 1_000)).unwrap();
    solo.feed(w, &bootstrap_from(solo, 0, 1_000)).unwrap();
    let sent = bootstraps(solo);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].0, sent[0].1, sent[0].2.key),
        (x, solo.key(0), solo.key(V))
    );
    (x, w)
}

#[test]
fn a_bootstrap_that_went_on_further_is_re_routed_only_within_a_second() {
    for (wait, rerouted) in [(500, true), (2_000, false)] {
        let mut solo = Solo::quiet();
        let (x, _) = passing_through_toward_v(&mut solo);
        solo.advance(wait);
        solo.out();
        // X (between key 0 and V) bootstraps through X itself.
        solo.feed(x, &bootstrap_from(&solo, X, 1_000 + wait))
            .unwrap();
        let again: Vec<_> = bootstraps(&mut solo)
            .into_iter()
            .filter(|b| b.1 == solo.key(0))
            .collect();
        assert_eq!(!again.is_empty(), rerouted, "after {wait} ms");
        if rerouted {
            assert_eq!((again[0].0, again[0].2.key), (x, solo.key(X)));
        }
    }
}

#[test]
fn a_bootstrap_sent_to_the_peer_it_was_heading_for_is_re_routed_until_the_next_is_due() {
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    // V is a peer under A, so its key is known through its announcement.
    let v = solo.add(V);
    solo.feed(
        v,
        &announcement(3, &[(&solo.keys[A], 2), (&solo.keys[V], 5)]),
    )
    .unwrap();
    let x = solo.add(X);
    let w = solo.add(W);
    solo.out();
    solo.feed(w, &bootstrap_from(&solo, 0, 1_000)).unwrap();
    let sent = bootstraps(&mut solo);
    assert_eq!((sent[0].0, sent[0].2.key), (v, solo.key(V)));

    // Four seconds later X, between key 0 and V, bootstraps through X: key
    // 0's bootstrap ended at V although V's descending node should be X.
    solo.advance(4_000);
    solo.out();
    solo.feed(x, &bootstrap_from(&solo, X, 5_000)).unwrap();
    let again: Vec<_> = bootstraps(&mut solo)
        .into_iter()
        .filter(|b| b.1 == solo.key(0))
        .collect();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].0, again[0].2.key), (x, solo.key(X)));
}

#[test]
fn bootstraps_follow_paths_still_being_refreshed_or_that_they_are_already_on() {
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let x = solo.add(X);
    let w = solo.add(W);
    solo.feed(x, &bootstrap_from(&solo, V, 1_000)).unwrap();
    let others = |solo: &mut Solo| -> Vec<(Port, PublicKey, Watermark, Vec<u8>)> {
        let own = solo.own();
        bootstraps(solo)
            .into_iter()
            .filter(|b| b.1 != own)
            .collect()
    };
    others(&mut solo);

    // Three seconds on, V's path is fresh: key 0's bootstrap follows it.
    solo.advance(3_000);
    solo.feed(w, &bootstrap_from(&solo, 0, 4_000)).unwrap();
    let sent = others(&mut solo);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].0, sent[0].2.key), (x, solo.key(V)));

    // Eight seconds on, V's bootstrap has skipped us once: its path is on
    // its way out, so key 0's next bootstrap ends here instead.
    solo.advance(5_000);
    solo.feed(w, &bootstrap_from(&solo, 0, 9_000)).unwrap();
    assert!(others(&mut solo).is_empty());
    let entry = solo.router.routing_table().path(&solo.key(0)).copied();
    assert_eq!(entry.map(|e| e.destination), Some(NextHop::Local));

    // A bootstrap that the previous hop already sent along V's path (its
    // watermark is that path's) still follows it.
    let on_v = Watermark {
        key: solo.key(V),
        seq: 1_000,
    };
    let frame = bootstrap(&solo.keys[W], 9_000, (solo.key(A), 3), on_v);
    solo.feed(w, &frame).unwrap();
    let sent = others(&mut solo);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].0, sent[0].1, sent[0].2), (x, solo.key(W), on_v));
}

#[test]
fn our_bootstrap_goes_out_at_the_next_tick_when_its_route_changes() {
    let mut solo = Solo::quiet();
    let a = under_a(&mut solo);
    let u = solo.add(X);
    solo.advance(1_000);
    let first = bootstraps(&mut solo);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, a);
    let first_at = solo.now.0;

    // U (between us and the root) bootstraps through our peer: our own
    // bootstrap now heads for U instead of the root.
    solo.advance(1_500);
    solo.feed(u, &bootstrap_from(&solo, U, solo.now.0)).unwrap();
    solo.out();
    solo.advance(1_000);
    let sent: Vec<_> = bootstraps(&mut solo)
        .into_iter()
        .filter(|b| b.1 == solo.own())
        .collect();
    assert_eq!(sent.len(), 1, "sent within a tick, not 5 s after the last");
    assert!(solo.now.0 - first_at < 5_000);
    assert_eq!(sent[0].0, u);
    assert_eq!(sent[0].2.key, solo.key(U));

    // Nothing changed since: the next one waits the full 5 s.
    let own = solo.own();
    solo.advance(4_000);
    assert!(bootstraps(&mut solo).iter().all(|b| b.1 != own));
    solo.advance(1_000);
    assert_eq!(
        bootstraps(&mut solo).iter().filter(|b| b.1 == own).count(),
        1
    );
}

#[test]
fn a_frame_already_on_an_expired_path_may_follow_it_for_the_grace() {
    let mut solo = Solo::quiet();
    let a = under_a(&mut solo);
    let w = solo.add(W);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.out();
    let on_path = Watermark {
        key: solo.key(W),
        seq: 1_000,
    };
    let src = solo.key(A);
    solo.advance(10_500);
    // Expired: a frame not on the path has no route any more …
    solo.feed(a, &traffic(solo.key(W), &[], src, Watermark::FRESH, b"x"))
        .unwrap();
    assert!(of_type(&solo.out(), TRAFFIC).is_empty());
    assert_eq!(solo.router.counters().unroutable, 1);
    // … but one already following it goes on.
    solo.feed(a, &traffic(solo.key(W), &[], src, on_path, b"x"))
        .unwrap();
    let out = solo.out();
    let sent = of_type(&out, TRAFFIC);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].port, w);
    // Not after the grace (5 s).
    solo.advance(4_500);
    solo.feed(a, &traffic(solo.key(W), &[], src, on_path, b"x"))
        .unwrap();
    assert!(of_type(&solo.out(), TRAFFIC).is_empty());
}

#[test]
fn a_frame_goes_back_where_it_came_from_only_with_a_strictly_better_watermark() {
    let mut solo = Solo::quiet();
    under_a(&mut solo);
    let w = solo.add(W);
    solo.feed(w, &bootstrap_from(&solo, W, 1_000)).unwrap();
    solo.out();
    let src = solo.key(A);
    // From W's side, routed toward a key above W: we know W itself, back
    // the way it came.
    let toward_v = Watermark {
        key: solo.key(V),
        seq: 7,
    };
    solo.feed(w, &traffic(solo.key(W), &[], src, toward_v, b"x"))
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
    // Already carrying W's watermark: sending it back would not improve
    // it, so it is a loop.
    let on_path = Watermark {
        key: solo.key(W),
        seq: 1_000,
    };
    solo.feed(w, &traffic(solo.key(W), &[], src, on_path, b"x"))
        .unwrap();
    assert!(of_type(&solo.out(), TRAFFIC).is_empty());
    assert_eq!(solo.router.counters().loops, 1);
}
