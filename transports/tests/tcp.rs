//! TCP listen and dial, with the handshake both ways.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{channel_sink, exchange, impatient_transport, key, pattern, transport, PATIENCE};
use pinecone_engine::wire::{Handshake, PublicKey, HANDSHAKE_LEN};
use pinecone_transports::{PeerStream, PeerType, PeerUri};

#[test]
fn listen_and_dial_verify_each_others_keys() {
    let (server, client) = (transport(1), transport(2));
    let (sink, accepted) = channel_sink();
    let listener = server.listen_tcp("127.0.0.1:0", sink).unwrap();
    let uri: PeerUri = format!("tcp://{}", listener.local_addr()).parse().unwrap();

    let dialled = client.dial(&uri, "zone-a").unwrap();
    let accepted = accepted.recv_timeout(PATIENCE).unwrap();

    assert_eq!(dialled.public_key, PublicKey::of(&key(1)));
    assert_eq!(accepted.public_key, PublicKey::of(&key(2)));
    assert_eq!(dialled.origin.peer_type, PeerType::Remote);
    assert_eq!(accepted.origin.peer_type, PeerType::Remote);
    assert!(dialled.origin.outbound);
    assert!(!accepted.origin.outbound);
    assert_eq!(dialled.origin.zone, "zone-a");
    assert_eq!(accepted.origin.zone, "");
    assert_eq!(dialled.origin.uri, uri.to_string());
    let PeerStream::Tcp(dialled_tcp) = &dialled.stream else {
        panic!("a TCP peering has a TCP stream");
    };
    let PeerStream::Tcp(accepted_tcp) = &accepted.stream else {
        panic!("a TCP peering has a TCP stream");
    };
    assert_eq!(
        accepted.origin.uri,
        dialled_tcp.local_addr().unwrap().to_string()
    );
    assert!(dialled_tcp.nodelay().unwrap());
    assert!(accepted_tcp.nodelay().unwrap());
}

#[test]
fn a_peering_carries_bytes_both_ways_after_the_handshake() {
    let (server, client) = (transport(3), transport(4));
    let (sink, accepted) = channel_sink();
    let listener = server.listen_tcp("127.0.0.1:0", sink).unwrap();
    let uri: PeerUri = listener.local_addr().to_string().parse().unwrap();
    let dialled = client.dial(&uri, "").unwrap();
    let accepted = accepted.recv_timeout(PATIENCE).unwrap();

    let there = pattern(1, 300_000);
    let received = exchange(
        dialled.stream.try_clone().unwrap(),
        accepted.stream.try_clone().unwrap(),
        there.clone(),
    );
    assert_eq!(received, there);
    let back = pattern(2, 300_000);
    let received = exchange(accepted.stream, dialled.stream, back.clone());
    assert_eq!(received, back);
}

#[test]
fn a_peer_that_never_sends_its_handshake_is_dropped_after_the_deadline() {
    let deadline = Duration::from_millis(200);
    let server = impatient_transport(5, deadline);
    let (sink, accepted) = channel_sink();
    let listener = server.listen_tcp("127.0.0.1:0", sink).unwrap();

    let start = Instant::now();
    let mut silent = TcpStream::connect(listener.local_addr()).unwrap();
    silent.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut theirs = [0u8; HANDSHAKE_LEN];
    silent.read_exact(&mut theirs).unwrap();
    assert_eq!(
        Handshake::from_bytes(&theirs).unwrap().public_key(),
        PublicKey::of(&key(5))
    );
    let mut rest = [0u8; 1];
    assert_eq!(
        silent.read(&mut rest).unwrap(),
        0,
        "expected the server to hang up"
    );
    let elapsed = start.elapsed();
    assert!(elapsed >= deadline, "dropped early, after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(5),
        "dropped late, after {elapsed:?}"
    );
    assert!(accepted.try_recv().is_err(), "no peering was delivered");
}

#[test]
fn a_silent_peer_is_dropped_after_the_default_ten_seconds() {
    let server = transport(6);
    let (sink, _accepted) = channel_sink();
    let listener = server.listen_tcp("127.0.0.1:0", sink).unwrap();

    let start = Instant::now();
    let mut silent = TcpStream::connect(listener.local_addr()).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut everything = Vec::new();
    silent.read_to_end(&mut everything).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(everything.len(), HANDSHAKE_LEN);
    assert!(
        elapsed >= Duration::from_secs(10),
        "dropped early, after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "dropped late, after {elapsed:?}"
    );
}

#[test]
fn connections_beyond_the_handshake_limit_are_closed_at_once() {
    let config = pinecone_transports::TransportConfig {
        max_pending_handshakes: 2,
        handshake_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let server = pinecone_transports::Transport::new(key(7), config);
    let (sink, _accepted) = channel_sink();
    let listener = server.listen_tcp("127.0.0.1:0", sink).unwrap();

    let mut pending: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(listener.local_addr()).unwrap())
        .collect();
    for stream in &mut pending {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut theirs = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut theirs).unwrap();
    }
    let mut refused = TcpStream::connect(listener.local_addr()).unwrap();
    refused.set_read_timeout(Some(PATIENCE)).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; HANDSHAKE_LEN];
    match refused.read(&mut buf) {
        Ok(0) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected the third connection to be closed, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "closed only at the deadline"
    );

    // Once the pending ones go away, a new connection is served again.
    for stream in &pending {
        stream.shutdown(Shutdown::Both).unwrap();
    }
    drop(pending);
    let served = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        let mut stream = TcpStream::connect(listener.local_addr()).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.read_exact(&mut buf).is_ok()
    });
    assert!(served, "slots were not given back");
}

#[test]
fn closing_the_listener_stops_accepting() {
    let server = transport(8);
    let (sink, _accepted) = channel_sink();
    let listener = server.listen_tcp("127.0.0.1:0", sink).unwrap();
    let address = listener.local_addr();
    listener.close();
    let refused = TcpStream::connect(address);
    assert_eq!(
        refused.map(|_| ()).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}

#[test]
fn dialling_nothing_fails_with_a_connect_error() {
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let uri: PeerUri = address.to_string().parse().unwrap();
    let error = transport(9).dial(&uri, "").unwrap_err();
    assert!(
        matches!(error, pinecone_transports::DialError::Connect { address: a, .. } if a == address),
        "{error:?}"
    );
}
