//! The static peer manager against real listeners, with a short backoff.

mod common;

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{channel_sink, key, transport, PATIENCE};
use pinecone_engine::wire::PublicKey;
use pinecone_transports::{BackoffPolicy, PeerOrigin, PeerType, StaticPeers, UriError};

const INITIAL: Duration = Duration::from_millis(100);

fn policy() -> BackoffPolicy {
    BackoffPolicy {
        initial: INITIAL,
        max: Duration::from_secs(60),
    }
}

/// A listener that reports when each connection arrives; the first
/// `refuse` are closed at once, the rest get a handshake as `seed`.
fn flaky_peer(refuse: usize, seed: u8) -> (String, mpsc::Receiver<(Instant, bool)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("tcp://{}", listener.local_addr().unwrap());
    let (events, arrivals) = mpsc::channel();
    thread::spawn(move || {
        let peer = transport(seed);
        for (index, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let accepted = index >= refuse;
            if events.send((Instant::now(), accepted)).is_err() {
                return;
            }
            if accepted {
                let origin = PeerOrigin {
                    peer_type: PeerType::Remote,
                    zone: String::new(),
                    uri: String::new(),
                    outbound: false,
                };
                // Keep the peering open until the test hangs up.
                if let Ok(peering) = peer.establish(stream.into(), origin) {
                    thread::spawn(move || {
                        let mut stream = peering.stream;
                        let _ = std::io::copy(&mut stream, &mut std::io::sink());
                    });
                }
            }
        }
    });
    (uri, arrivals)
}

#[test]
fn failed_attempts_back_off_and_a_disconnect_redials_after_the_initial_delay() {
    let (uri, arrivals) = flaky_peer(2, 1);
    let (sink, peerings) = channel_sink();
    let manager = StaticPeers::start(transport(2), sink, policy()).unwrap();
    let canonical = manager.add(&uri).unwrap();
    assert_eq!(manager.uris(), vec![canonical.clone()]);

    let first = arrivals.recv_timeout(PATIENCE).unwrap();
    let second = arrivals.recv_timeout(PATIENCE).unwrap();
    let third = arrivals.recv_timeout(PATIENCE).unwrap();
    assert_eq!((first.1, second.1, third.1), (false, false, true));
    let first_gap = second.0 - first.0;
    let second_gap = third.0 - second.0;
    assert!(first_gap >= INITIAL, "first retry after {first_gap:?}");
    assert!(
        second_gap >= 2 * INITIAL,
        "second retry after {second_gap:?}"
    );

    let peering = peerings.recv_timeout(PATIENCE).unwrap();
    assert_eq!(peering.public_key, PublicKey::of(&key(1)));
    assert_eq!(peering.origin.zone, "static");
    assert_eq!(peering.origin.uri, canonical.to_string());
    assert!(peering.origin.outbound);

    // While connected, nothing is redialled.
    assert!(arrivals.recv_timeout(4 * INITIAL).is_err());

    // The node reports the peering closed: redial after the initial delay,
    // not the doubled one.
    let closed_at = Instant::now();
    drop(peering);
    manager.disconnected(&canonical.to_string());
    let redial = arrivals.recv_timeout(PATIENCE).unwrap();
    assert!(redial.1);
    let gap = redial.0 - closed_at;
    assert!(gap >= INITIAL, "redialled after {gap:?}");
    assert!(
        gap < 4 * INITIAL,
        "redialled only after {gap:?}; the delay was not reset"
    );
    assert!(peerings.recv_timeout(PATIENCE).is_ok());
}

#[test]
fn a_removed_peer_is_not_redialled() {
    let (uri, arrivals) = flaky_peer(usize::MAX, 3);
    let (sink, _peerings) = channel_sink();
    let manager = StaticPeers::start(transport(4), sink, policy()).unwrap();
    manager.add(&uri).unwrap();
    arrivals.recv_timeout(PATIENCE).unwrap();
    assert!(manager.remove(&uri));
    assert!(!manager.remove(&uri));
    assert!(manager.uris().is_empty());
    assert!(
        arrivals.recv_timeout(4 * INITIAL).is_err(),
        "redialled after removal"
    );
}

#[test]
fn adding_is_idempotent_and_checks_the_uri() {
    let (sink, _peerings) = channel_sink();
    let manager = StaticPeers::start(transport(5), sink, policy()).unwrap();
    let first = manager.add("127.0.0.1:9").unwrap();
    let again = manager.add("tcp://127.0.0.1:9").unwrap();
    assert_eq!(first, again);
    assert_eq!(manager.uris().len(), 1);
    assert_eq!(
        manager.add("gopher://x:1"),
        Err(UriError::UnsupportedScheme("gopher".into()))
    );
    manager.disconnected("not a uri");
    manager.disconnected("127.0.0.1:10");
    assert_eq!(manager.uris().len(), 1);
}
