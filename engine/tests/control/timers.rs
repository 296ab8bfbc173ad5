//! Keepalive and dead-peer timers, activity noted from outside, and what
//! `poll_timeout` asks for.

use crate::solo::Solo;
use pinecone_engine::control::{Event, Millis, RemovalReason, RouterConfig};
use pinecone_netkit::frames::{announcement, of_type, ports_of_type, ANNOUNCEMENT, KEEPALIVE};

const W: usize = 2;

fn keepalive_config() -> RouterConfig {
    RouterConfig {
        wakeup_broadcasts: false,
        ..RouterConfig::default()
    }
}

fn keepalive_frame() -> Vec<u8> {
    let mut frame = vec![0; 10];
    pinecone_engine::wire::emit_keepalive(&mut frame).unwrap();
    frame
}

#[test]
fn a_keepalive_goes_out_after_3_seconds_of_silence() {
    let mut solo = Solo::new(keepalive_config());
    let w = solo.add(W);
    solo.out();
    solo.advance(2_999);
    assert!(solo.out().is_empty());
    solo.advance(1);
    let out = solo.out();
    assert_eq!(ports_of_type(&out, KEEPALIVE), vec![w]);
    assert_eq!(out[0].frame, keepalive_frame());
}

#[test]
fn anything_else_sent_defers_the_keepalive() {
    let mut solo = Solo::new(keepalive_config());
    let w = solo.add(W);
    solo.feed(w, &announcement(1, &[(&solo.keys[W], 3)]))
        .unwrap();
    solo.out();
    solo.advance(2_000);
    // A second, weaker announcement is answered with ours.
    solo.feed(w, &announcement(2, &[(&solo.keys[W], 3)]))
        .unwrap();
    assert_eq!(ports_of_type(&solo.out(), ANNOUNCEMENT), vec![w]);
    solo.advance(2_999);
    assert!(of_type(&solo.out(), KEEPALIVE).is_empty());
    solo.advance(1);
    assert_eq!(ports_of_type(&solo.out(), KEEPALIVE), vec![w]);
}

#[test]
fn a_peer_silent_for_5_seconds_is_removed() {
    let mut solo = Solo::new(keepalive_config());
    let w = solo.add(W);
    solo.advance(4_000);
    solo.feed(w, &keepalive_frame()).unwrap();
    solo.events();
    solo.advance(4_999);
    assert_eq!(solo.router.peers().len(), 1);
    solo.advance(1);
    assert!(solo.router.peers().is_empty());
    assert!(solo.events().contains(&Event::PeerRemoved {
        port: w,
        key: solo.key(W),
        reason: RemovalReason::Timeout,
    }));
}

#[test]
fn activity_noted_from_a_forwarding_plane_counts() {
    let mut solo = Solo::new(keepalive_config());
    let w = solo.add(W);
    solo.out();
    solo.advance(2_500);
    let now = solo.now;
    solo.router.note_activity(w, true, true, now);
    solo.advance(2_999);
    assert!(solo.out().is_empty());
    assert_eq!(solo.router.peers().len(), 1);
    solo.advance(1);
    assert_eq!(ports_of_type(&solo.out(), KEEPALIVE), vec![w]);
    solo.advance(2_000);
    assert!(
        solo.router.peers().is_empty(),
        "5 s after the noted receive"
    );
}

#[test]
fn without_keepalives_peers_are_neither_pinged_nor_timed_out() {
    let mut solo = Solo::quiet();
    solo.add(W);
    solo.out();
    solo.advance(60_000);
    assert!(of_type(&solo.out(), KEEPALIVE).is_empty());
    assert_eq!(solo.router.peers().len(), 1);
}

#[test]
fn poll_timeout_names_the_earliest_deadline() {
    let mut solo = Solo::new(keepalive_config());
    let start = solo.now;
    // Maintenance ticks every second.
    assert_eq!(solo.router.poll_timeout(), Some(Millis(start.0 + 1_000)));
    solo.advance(1_500);
    assert_eq!(solo.router.poll_timeout(), Some(Millis(start.0 + 2_000)));
    solo.add(W);
    solo.advance(499);
    assert_eq!(solo.router.poll_timeout(), Some(Millis(start.0 + 2_000)));
    // Nothing is ever due before `now` after handle_timeout.
    solo.advance(10_000);
    assert!(solo.router.poll_timeout().unwrap() > solo.now);
}

#[test]
fn keepalives_keep_time_for_peers_attached_and_heard_between_the_timers() {
    // Peers attached at times off the one-second maintenance grid, each
    // heard every 1.7 s: every keepalive goes out exactly 3 s after the
    // last frame sent to its peer, never later, as the clock moves on one
    // millisecond at a time and the router's timers run when it asks.
    let mut solo = Solo::new(keepalive_config());
    let start = solo.now.0;
    let attach_at = [337, 1_205, 2_999, 4_444];
    let peers = [0, 1, 2, 3];
    let mut ports = Vec::new();
    let mut last_sent = std::collections::BTreeMap::new();
    let mut keepalives = 0;
    for ms in 1..=12_000 {
        solo.advance(1);
        if let Some(at) = attach_at.iter().position(|&at| at == ms) {
            ports.push(solo.add(peers[at]));
        }
        if ms % 1_700 == 0 {
            for &port in &ports {
                solo.feed(port, &keepalive_frame()).unwrap();
            }
        }
        for transmit in solo.out() {
            if transmit.frame == keepalive_frame() {
                let since = solo.now.0 - last_sent[&transmit.port];
                assert_eq!(
                    since, 3_000,
                    "keepalive to port {} at {ms} ms",
                    transmit.port
                );
                keepalives += 1;
            }
            last_sent.insert(transmit.port, solo.now.0);
        }
    }
    assert_eq!(solo.now.0, start + 12_000);
    assert_eq!(solo.router.peers().len(), peers.len(), "every peer stays");
    assert!(keepalives >= 10, "{keepalives} keepalives");
}
