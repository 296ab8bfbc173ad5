//! The `Node` handle: local delivery, attached streams, events, ports,
//! coordinates and shutdown.

mod node_support;

use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use node_support::{eventually, node, peer_count, reaches, CONVERGENCE};
use pinecone_engine::control::Event;
use pinecone_transports::{Node, NodeError, PeerOrigin, PeerStream, PeerType};

/// Joins two nodes with a socket pair, both handshakes running at once.
fn join(a: &Arc<Node>, b: &Arc<Node>) {
    let (left, right) = UnixStream::pair().expect("pair");
    let origin = |outbound| PeerOrigin {
        peer_type: PeerType::Pipe,
        zone: String::new(),
        uri: "pipe".to_owned(),
        outbound,
    };
    let other = Arc::clone(b);
    let attaching =
        std::thread::spawn(move || other.attach(PeerStream::from(right), origin(false)));
    let key = a
        .attach(PeerStream::from(left), origin(true))
        .expect("attach");
    assert_eq!(key, b.public_key());
    let key = attaching.join().expect("thread").expect("attach");
    assert_eq!(key, a.public_key());
}

#[test]
fn node_is_send_and_sync() {
    fn shareable<T: Send + Sync>(_: &T) {}
    shareable(&node(100));
}

#[test]
fn a_datagram_to_ourselves_is_delivered_and_try_recv_does_not_block() {
    let node = node(101);
    assert!(node.try_recv().is_none());
    node.send(node.public_key(), b"hello me").expect("send");
    let datagram = node
        .recv_timeout(Duration::from_secs(5))
        .expect("delivered");
    assert_eq!(datagram.source, node.public_key());
    assert_eq!(datagram.payload, b"hello me");
    assert!(node.try_recv().is_none());
}

#[test]
fn attached_streams_peer_and_carry_traffic() {
    let a = Arc::new(node(102));
    let b = Arc::new(node(103));
    join(&a, &b);
    assert!(reaches(&a, &b, CONVERGENCE));
    assert!(reaches(&b, &a, CONVERGENCE));
    // One of the two is the root (empty coordinates), the other its child.
    let coords = [a.coords().expect("coords"), b.coords().expect("coords")];
    let mut lengths: Vec<usize> = coords.iter().map(|c| c.0.len()).collect();
    lengths.sort_unstable();
    assert_eq!(lengths, [0, 1]);
}

#[test]
fn disconnecting_a_port_removes_the_peering_on_both_sides() {
    let a = Arc::new(node(104));
    let b = Arc::new(node(105));
    let events = a.subscribe().expect("subscribe");
    join(&a, &b);
    assert!(eventually(CONVERGENCE, || peer_count(&b) == 1));
    let port = a.peers().expect("peers")[0].port;
    let mut events = std::iter::from_fn(|| events.recv_timeout(Duration::from_secs(5)).ok());
    let b_key = b.public_key();
    assert!(events.by_ref().any(
        |event| matches!(event, Event::PeerAdded { port: p, key, .. } if p == port && key == b_key)
    ));
    assert!(a.disconnect(port).expect("disconnect"));
    assert!(!a.disconnect(port).expect("disconnect again"));
    assert_eq!(peer_count(&a), 0);
    assert!(eventually(CONVERGENCE, || peer_count(&b) == 0));
    let removed =
        events.any(|event| matches!(event, Event::PeerRemoved { port: p, .. } if p == port));
    assert!(removed);
}

#[test]
fn shutdown_wakes_a_blocked_receiver_and_stops_the_node() {
    let node = Arc::new(node(106));
    let receiver = Arc::clone(&node);
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        let got = receiver.recv_timeout(Duration::from_secs(60));
        (got, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    node.shutdown();
    let (got, waited) = waiting.join().expect("receiver thread");
    assert!(got.is_none());
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    assert!(matches!(node.peers(), Err(NodeError::Stopped)));
    assert!(matches!(
        node.send(node.public_key(), b"late"),
        Err(NodeError::Stopped)
    ));
    // A second shutdown is harmless.
    node.shutdown();
}
