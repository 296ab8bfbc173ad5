//! End-to-end sessions between nodes over real peerings: streams both
//! ways, one hop and several, many at once, a node restarting, and the
//! session calls' contracts.

mod node_support;

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use node_support::{all_reach_all, eventually, node, shape, Medium, CONVERGENCE};
use pinecone_engine::control::Event;
use pinecone_transports::{Node, SessionError, SessionStream};

const PROTOCOL: &str = "matrix";
const PATIENCE: Option<Duration> = Some(Duration::from_secs(30));

/// A deterministic pattern of `len` bytes.
fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// Serves `count` streams on `node`: each is read to its end and echoed
/// back, then finished.
fn echo_server(node: &'static Node, count: usize) -> thread::JoinHandle<Vec<[u8; 32]>> {
    thread::spawn(move || {
        let mut workers = Vec::new();
        for _ in 0..count {
            let stream = node.accept_session(PROTOCOL, PATIENCE).expect("accept");
            let remote = stream.remote_key().0;
            workers.push(thread::spawn(move || {
                echo(stream);
                remote
            }));
        }
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

fn echo(mut stream: SessionStream) {
    let mut data = Vec::new();
    stream.read_to_end(&mut data).expect("read to end");
    stream.write_all(&data).expect("echo");
}

/// Writes `data` on `stream` (from another thread), finishes, and reads
/// the whole answer.
fn round_trip(stream: SessionStream, data: Vec<u8>) -> Vec<u8> {
    let stream = std::sync::Arc::new(stream);
    let writer = {
        let stream = std::sync::Arc::clone(&stream);
        thread::spawn(move || {
            (&*stream).write_all(&data).expect("write");
            stream.shutdown_write().expect("finish");
        })
    };
    let mut answer = Vec::new();
    (&*stream).read_to_end(&mut answer).expect("read answer");
    writer.join().unwrap();
    answer
}

fn leak(node: Node) -> &'static Node {
    Box::leak(Box::new(node))
}

#[test]
fn one_hop_streams_go_both_ways_and_report_the_authenticated_key() {
    let nodes = shape(60, 2, Medium::Tcp, false, node_support::test_io());
    assert!(all_reach_all(&nodes, CONVERGENCE));
    let mut nodes = nodes.into_iter();
    let a = leak(nodes.next().unwrap());
    let b = leak(nodes.next().unwrap());
    let events = a.subscribe().unwrap();
    a.listen_sessions(PROTOCOL).unwrap();
    b.listen_sessions(PROTOCOL).unwrap();
    let server = echo_server(b, 1);
    let data = pattern(1, 300_000);
    let stream = a
        .dial_session(b.public_key(), PROTOCOL, PATIENCE)
        .expect("dial");
    assert_eq!(stream.remote_key(), b.public_key());
    assert_eq!(round_trip(stream, data.clone()), data);
    assert_eq!(server.join().unwrap(), vec![a.public_key().0]);
    // The other way, over the same session.
    let server = echo_server(a, 1);
    let stream = b
        .dial_session(a.public_key(), PROTOCOL, PATIENCE)
        .expect("dial back");
    assert_eq!(round_trip(stream, data.clone()), data);
    assert_eq!(server.join().unwrap(), vec![b.public_key().0]);
    assert_eq!(a.session_count(), 1);
    assert_eq!(b.session_count(), 1);
    let listed = a.sessions().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].remote_key, b.public_key());
    assert_eq!(listed[0].protocol, PROTOCOL);
    assert!(listed[0].outbound);
    // Closing the sessions to a key tells both sides.
    assert_eq!(a.close_sessions(b.public_key()).unwrap(), 1);
    assert!(eventually(CONVERGENCE, || a.session_count() == 0
        && b.session_count() == 0));
    // Events reach subscribers through the control thread, so the close
    // may come a moment after the counts.
    let mut seen: Vec<Event> = Vec::new();
    let closed = |event: &Event| {
        matches!(event,
        Event::SessionClosed { key, .. } if *key == b.public_key())
    };
    assert!(
        eventually(CONVERGENCE, || {
            seen.extend(events.try_iter());
            seen.iter().any(closed)
        }),
        "no SessionClosed event: {seen:?}"
    );
    assert!(seen.iter().any(|event| matches!(event,
        Event::SessionOpened { key, protocol, outbound: true } if *key == b.public_key() && protocol == PROTOCOL)));
}

#[test]
fn streams_cross_several_hops_both_ways() {
    let nodes = shape(64, 4, Medium::Tcp, false, node_support::test_io());
    assert!(all_reach_all(&nodes, CONVERGENCE));
    let nodes: Vec<&'static Node> = nodes.into_iter().map(leak).collect();
    let (first, last) = (nodes[0], nodes[3]);
    first.listen_sessions(PROTOCOL).unwrap();
    last.listen_sessions(PROTOCOL).unwrap();
    let data = pattern(2, 200_000);
    let server = echo_server(last, 1);
    let stream = first
        .dial_session(last.public_key(), PROTOCOL, PATIENCE)
        .unwrap();
    assert_eq!(round_trip(stream, data.clone()), data);
    assert_eq!(server.join().unwrap(), vec![first.public_key().0]);
    let server = echo_server(first, 1);
    let stream = last
        .dial_session(first.public_key(), PROTOCOL, PATIENCE)
        .unwrap();
    assert_eq!(round_trip(stream, data.clone()), data);
    assert_eq!(server.join().unwrap(), vec![last.public_key().0]);
    // The middle nodes carried the traffic without a session of their own.
    assert_eq!(nodes[1].session_count() + nodes[2].session_count(), 0);
}

#[test]
fn many_concurrent_streams_share_one_session() {
    const STREAMS: usize = 48;
    let nodes = shape(70, 2, Medium::Tcp, false, node_support::test_io());
    assert!(all_reach_all(&nodes, CONVERGENCE));
    let mut nodes = nodes.into_iter();
    let a = leak(nodes.next().unwrap());
    let b = leak(nodes.next().unwrap());
    b.listen_sessions(PROTOCOL).unwrap();
    let server = echo_server(b, STREAMS);
    let clients: Vec<_> = (0..STREAMS)
        .map(|i| {
            thread::spawn(move || {
                let data = pattern(100 + i as u32, 20_000 + i * 1_000);
                let stream = a
                    .dial_session(b.public_key(), PROTOCOL, PATIENCE)
                    .expect("dial");
                round_trip(stream, data.clone()) == data
            })
        })
        .collect();
    for client in clients {
        assert!(client.join().unwrap(), "a stream came back different");
    }
    assert_eq!(server.join().unwrap().len(), STREAMS);
    assert_eq!(a.session_count(), 1, "one session carries every stream");
}

#[test]
fn a_restarted_node_gets_a_new_session_and_old_streams_end() {
    let io = node_support::test_io();
    let config = || pinecone_transports::NodeConfig {
        io,
        ..pinecone_transports::NodeConfig::default()
    };
    let a = leak(node_support::node_with(80, config()));
    let address = a.listen_tcp("127.0.0.1:0").unwrap();
    let b = node_support::node_with(81, config());
    b.connect(&format!("tcp://{address}")).unwrap();
    assert!(node_support::reaches(&b, a, CONVERGENCE));
    assert!(node_support::reaches(a, &b, CONVERGENCE));
    a.listen_sessions(PROTOCOL).unwrap();
    b.listen_sessions(PROTOCOL).unwrap();
    // A stream from a to b, left open while b restarts.
    let open = a.dial_session(b.public_key(), PROTOCOL, PATIENCE).unwrap();
    (&open).write_all(b"hello").unwrap();
    let mut accepted = b.accept_session(PROTOCOL, PATIENCE).unwrap();
    let mut hello = [0u8; 5];
    accepted.read_exact(&mut hello).unwrap();
    assert_eq!(&hello, b"hello");
    drop(accepted);
    drop(b);
    let b = leak(node_support::node_with(81, config()));
    b.connect(&format!("tcp://{address}")).unwrap();
    // (a's datagrams go to its session endpoint now: the dial below
    // waits for the route itself.)
    assert!(eventually(CONVERGENCE, || node_support::peer_count(b) == 1));
    b.listen_sessions(PROTOCOL).unwrap();
    // The new b dials a: a replaces the session the old b had.
    let server = echo_server(a, 1);
    let data = pattern(3, 50_000);
    let stream = b.dial_session(a.public_key(), PROTOCOL, PATIENCE).unwrap();
    assert_eq!(round_trip(stream, data.clone()), data);
    server.join().unwrap();
    // The stream over the old session ends instead of hanging.
    open.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    assert!((&open).read_to_end(&mut rest).is_ok());
    // And a reaches the new b over the new session.
    let server = echo_server(b, 1);
    let stream = a.dial_session(b.public_key(), PROTOCOL, PATIENCE).unwrap();
    assert_eq!(round_trip(stream, data.clone()), data);
    server.join().unwrap();
    assert_eq!(a.session_count(), 1);
}

#[test]
fn simultaneous_dials_both_succeed() {
    let nodes = shape(90, 2, Medium::Tcp, false, node_support::test_io());
    assert!(all_reach_all(&nodes, CONVERGENCE));
    let mut nodes = nodes.into_iter();
    let a = leak(nodes.next().unwrap());
    let b = leak(nodes.next().unwrap());
    a.listen_sessions(PROTOCOL).unwrap();
    b.listen_sessions(PROTOCOL).unwrap();
    let servers = [echo_server(a, 1), echo_server(b, 1)];
    let dials: Vec<_> = [(a, b), (b, a)]
        .into_iter()
        .map(|(from, to)| {
            thread::spawn(move || {
                let data = pattern(4, 30_000);
                let stream = from
                    .dial_session(to.public_key(), PROTOCOL, PATIENCE)
                    .expect("dial");
                round_trip(stream, data.clone()) == data
            })
        })
        .collect();
    for dial in dials {
        assert!(dial.join().unwrap());
    }
    for server in servers {
        server.join().unwrap();
    }
    assert!(eventually(CONVERGENCE, || a.session_count() == 1
        && b.session_count() == 1));
}

#[test]
fn calls_keep_their_contracts() {
    let a = node(95);
    assert_eq!(a.session_count(), 0);
    assert_eq!(
        a.accept_session(PROTOCOL, Some(Duration::ZERO))
            .unwrap_err(),
        SessionError::NotListening(PROTOCOL.to_owned())
    );
    assert_eq!(
        a.dial_session(a.public_key(), PROTOCOL, PATIENCE)
            .unwrap_err(),
        SessionError::SelfDial
    );
    assert!(matches!(
        a.listen_sessions(""),
        Err(SessionError::InvalidProtocol(_))
    ));
    a.listen_sessions(PROTOCOL).unwrap();
    a.listen_sessions(PROTOCOL).unwrap();
    assert_eq!(
        a.accept_session(PROTOCOL, Some(Duration::from_millis(50)))
            .unwrap_err(),
        SessionError::TimedOut
    );
    let nobody = pinecone_engine::wire::PublicKey([0x77; 32]);
    assert_eq!(
        a.dial_session(nobody, PROTOCOL, Some(Duration::from_millis(200)))
            .unwrap_err(),
        SessionError::TimedOut
    );
    // Shutting down wakes a waiting accept.
    let a = leak(a);
    let waiting = thread::spawn(|| a.accept_session(PROTOCOL, None));
    thread::sleep(Duration::from_millis(200));
    a.shutdown();
    assert_eq!(waiting.join().unwrap().unwrap_err(), SessionError::Stopped);
    assert_eq!(
        a.listen_sessions(PROTOCOL).unwrap_err(),
        SessionError::Stopped
    );
}
