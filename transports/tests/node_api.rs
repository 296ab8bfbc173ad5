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

#[test]
fn static_peers_are_removed_with_their_peerings() {
    let a = node(104);
    let c = node(105);
    let b = node(106);
    let a_address = a.listen_tcp("127.0.0.1:0").expect("listen");
    let c_address = c.listen_tcp("127.0.0.1:0").expect("listen");
    b.connect(&format!("tcp://{a_address}")).expect("connect");
    b.connect(&c_address.to_string()).expect("connect");
    assert!(eventually(CONVERGENCE, || peer_count(&b) == 2));
    // Another spelling of the same address names the same static peer.
    assert_eq!(
        b.remove_static_peer(&a_address.to_string())
            .expect("remove"),
        1
    );
    assert_eq!(
        b.remove_static_peer(&a_address.to_string())
            .expect("remove"),
        0
    );
    assert!(b.remove_static_peer("not a uri").is_err());
    assert!(eventually(CONVERGENCE, || peer_count(&a) == 0));
    // Not redialled: a redial would come within the first backoff delay.
    std::thread::sleep(Duration::from_secs(3));
    let peers = b.peers().expect("peers");
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].key, c.public_key());
    assert_eq!(peer_count(&a), 0);
    assert_eq!(b.remove_static_peers().expect("remove all"), 1);
    assert!(eventually(CONVERGENCE, || peer_count(&b) == 0 && peer_count(&c) == 0));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(peer_count(&b), 0);
    assert_eq!(b.remove_static_peers().expect("remove all"), 0);
}

#[test]
fn peer_counts_by_medium_count_each_key_once() {
    let a = Arc::new(node(107));
    let b = Arc::new(node(108));
    let c = node(109);
    join(&a, &b);
    join(&a, &b);
    let address = c.listen_tcp("127.0.0.1:0").expect("listen");
    a.connect(&address.to_string()).expect("connect");
    assert!(eventually(CONVERGENCE, || peer_count(&a) == 3));
    assert_eq!(a.peer_count_by_type(Some(PeerType::Pipe)).unwrap(), 1);
    assert_eq!(a.peer_count_by_type(Some(PeerType::Remote)).unwrap(), 1);
    assert_eq!(a.peer_count_by_type(Some(PeerType::Bluetooth)).unwrap(), 0);
    assert_eq!(a.peer_count_by_type(None).unwrap(), 2);
}

#[test]
fn the_reference_switches_apply_while_traffic_flows() {
    let a = Arc::new(node(110));
    let b = Arc::new(node(111));
    join(&a, &b);
    a.set_hop_limiting(true).expect("switch");
    b.set_hop_limiting(true).expect("switch");
    a.set_wakeup_broadcasts(false).expect("switch");
    a.set_wakeup_broadcasts(true).expect("switch");
    // A direct peer is one hop away: hop limiting lets its traffic through.
    assert!(reaches(&a, &b, CONVERGENCE));
    assert!(reaches(&b, &a, CONVERGENCE));
    a.shutdown();
    assert!(matches!(a.set_hop_limiting(false), Err(NodeError::Stopped)));
    assert!(matches!(
        a.set_wakeup_broadcasts(false),
        Err(NodeError::Stopped)
    ));
}

#[test]
fn the_datagram_descriptor_wakes_an_epoll_loop() {
    use rustix::buffer::spare_capacity;
    use rustix::event::{epoll, Timespec};

    let node = Arc::new(node(112));
    let poller = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll");
    epoll::add(
        &poller,
        node.datagram_fd(),
        epoll::EventData::new_u64(7),
        epoll::EventFlags::IN,
    )
    .expect("add");
    let wait = |ms: u64| {
        let mut events = Vec::with_capacity(4);
        let timeout = Timespec::try_from(Duration::from_millis(ms)).expect("timeout");
        epoll::wait(&poller, spare_capacity(&mut events), Some(&timeout)).expect("wait");
        events.len()
    };
    assert_eq!(wait(0), 0, "nothing waits yet");
    let sender = {
        let node = Arc::clone(&node);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            node.send(node.public_key(), b"wake up").expect("send");
        })
    };
    let started = Instant::now();
    assert_eq!(wait(10_000), 1, "the datagram woke the loop");
    assert!(started.elapsed() >= Duration::from_millis(150));
    sender.join().expect("sender");
    // Level-triggered: readable until the datagram is received.
    assert_eq!(wait(0), 1);
    let datagram = node.try_recv().expect("the datagram waits");
    assert_eq!(datagram.payload, b"wake up");
    assert_eq!(wait(0), 0, "quiet once the queue is empty");
    assert!(node.try_recv().is_none());
    // A datagram handed back waits again.
    node.hand_back(datagram);
    assert_eq!(wait(0), 1);
    assert_eq!(node.try_recv().expect("handed back").payload, b"wake up");
    assert_eq!(wait(0), 0);
    // Shutting down wakes the loop for good.
    node.shutdown();
    assert_eq!(wait(10_000), 1);
    assert!(node.try_recv().is_none());
}

/// Built without the io-uring feature, a node asked for io_uring runs the
/// epoll driver and works.
#[cfg(not(feature = "io-uring"))]
#[test]
fn without_the_io_uring_feature_a_node_runs_epoll() {
    use pinecone_transports::{IoDriver, NodeConfig};

    let config = NodeConfig {
        io: IoDriver::Uring,
        ..NodeConfig::default()
    };
    let a = Arc::new(Node::random(config.clone()).expect("starts"));
    let b = Arc::new(Node::random(config).expect("starts"));
    assert_eq!(a.io_driver(), IoDriver::Epoll);
    join(&a, &b);
    assert!(reaches(&a, &b, CONVERGENCE));
    assert!(reaches(&b, &a, CONVERGENCE));
}
