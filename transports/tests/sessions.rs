//! End-to-end sessions between nodes over real peerings: streams both
//! ways, one hop and several, many at once, a node restarting, and the
//! session calls' contracts.

mod node_support;

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use node_support::{all_reach_all, eventually, shape, Medium, CONVERGENCE};
use pinecone_engine::control::Event;
use pinecone_transports::{Node, SessionStream};

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
    let seen: Vec<Event> = events.try_iter().collect();
    assert!(seen.iter().any(|event| matches!(event,
        Event::SessionOpened { key, protocol, outbound: true } if *key == b.public_key() && protocol == PROTOCOL)));
    assert!(seen.iter().any(|event| matches!(event,
        Event::SessionClosed { key, .. } if *key == b.public_key())));
}
