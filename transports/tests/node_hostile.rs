//! Peers that misbehave are disconnected, and every other peering of the
//! node keeps working.

mod node_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use node_support::{
    eventually, listen, node_on, node_with, peer_count, reaches, Medium, CONVERGENCE,
};
use pinecone_engine::wire::{
    AnnouncementFrame, AnnouncementRepr, Handshake, PublicKey, HANDSHAKE_LEN,
};
use pinecone_transports::{IoDriver, Node, NodeConfig, TransportConfig};

/// How soon a misbehaving peer must be dropped: well before the dead-peer
/// timer (5 s without a frame) could drop a silent one.
const PROMPTLY: Duration = Duration::from_secs(3);

/// A node with an honest peer and the address a hostile peer dials.
struct Scene {
    node: Node,
    honest: Node,
    address: String,
}

fn scene(seed: u8, io: IoDriver) -> Scene {
    let node = node_on(seed, io);
    let honest = node_on(seed + 1, io);
    let uri = listen(&node, Medium::Tcp);
    honest.connect(&uri).expect("connect");
    assert!(eventually(CONVERGENCE, || peer_count(&node) == 1));
    let address = uri.trim_start_matches("tcp://").to_owned();
    Scene {
        node,
        honest,
        address,
    }
}

/// Dials `address` and completes the handshake as `key`.
fn handshaken(address: &str, key: &SigningKey) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("dial");
    stream
        .write_all(Handshake::new(key).as_bytes())
        .expect("send handshake");
    let mut theirs = [0u8; HANDSHAKE_LEN];
    stream.read_exact(&mut theirs).expect("read handshake");
    stream
}

/// Whether the node closes `stream` within `within` (reading and
/// discarding what it sends until then).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buffer = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Sends `bytes` from a handshaken hostile peer and checks that the node
/// drops it while its honest peering keeps carrying traffic.
fn dropped_for_sending(seed: u8, io: IoDriver, bytes: impl FnOnce(&SigningKey) -> Vec<Vec<u8>>) {
    let scene = scene(seed, io);
    let hostile = SigningKey::from_bytes(&[seed + 2; 32]);
    let mut stream = handshaken(&scene.address, &hostile);
    assert!(eventually(CONVERGENCE, || peer_count(&scene.node) == 2));
    for chunk in bytes(&hostile) {
        // The node may already have closed the stream.
        let _ = stream.write_all(&chunk);
    }
    // Well before the 5 s dead-peer timer could be the reason.
    assert!(closed_within(&mut stream, PROMPTLY));
    assert!(eventually(CONVERGENCE, || peer_count(&scene.node) == 1));
    assert!(reaches(&scene.node, &scene.honest, CONVERGENCE));
    assert!(reaches(&scene.honest, &scene.node, CONVERGENCE));
}

/// A tree announcement rooted at `key` with sequence `seq`, signed by it.
fn announcement(key: &SigningKey, seq: u64, tamper: bool) -> Vec<u8> {
    let mut repr = AnnouncementRepr::new_root(PublicKey::of(key), seq);
    repr.sign_and_append(1, key).expect("sign");
    if tamper {
        if let Some(entry) = repr.entries.last_mut() {
            entry.signature[0] ^= 0x01;
        }
    }
    let mut payload = vec![0u8; repr.encoded_len()];
    let len = repr.emit(&mut payload).expect("payload");
    payload.truncate(len);
    let mut frame = vec![0u8; payload.len() + 64];
    let len = AnnouncementFrame::emit(&payload, &mut frame).expect("frame");
    frame.truncate(len);
    frame
}

on_both_drivers! {
fn a_well_behaved_raw_peer_stays(io) {
    let scene = scene(57, io);
    let peer = SigningKey::from_bytes(&[59; 32]);
    let mut stream = handshaken(&scene.address, &peer);
    let keepalive = [b'p', b'i', b'n', b'e', 0, 0, 0, 0, 0, 10];
    stream
        .write_all(&announcement(&peer, 1, false))
        .expect("announce");
    stream.write_all(&keepalive).expect("keepalive");
    assert!(!closed_within(&mut stream, PROMPTLY));
    assert_eq!(peer_count(&scene.node), 2);
}

fn a_peer_gone_silent_is_dropped_by_the_dead_peer_timer(io) {
    let scene = scene(54, io);
    let peer = SigningKey::from_bytes(&[56; 32]);
    let mut stream = handshaken(&scene.address, &peer);
    stream
        .write_all(&announcement(&peer, 1, false))
        .expect("announce");
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(15)));
    let waited = started.elapsed();
    // Nothing received for 5 s (give or take a timer tick).
    assert!(waited >= Duration::from_millis(4_500), "closed after {waited:?}");
    assert!(eventually(CONVERGENCE, || peer_count(&scene.node) == 1));
    assert!(reaches(&scene.node, &scene.honest, CONVERGENCE));
}

fn garbage_gets_a_peer_dropped(io) {
    dropped_for_sending(60, io, |_| vec![b"this is not a pinecone frame".to_vec()]);
}

fn a_length_past_the_frame_gets_a_peer_dropped(io) {
    // A tree announcement frame of 14 bytes whose payload length claims
    // 65535 bytes.
    dropped_for_sending(63, io, |_| {
        vec![vec![
            b'p', b'i', b'n', b'e', 0, 1, 0, 0, 0, 14, 0xff, 0xff, 0, 0,
        ]]
    });
}

fn a_bad_signature_gets_a_peer_dropped(io) {
    dropped_for_sending(66, io, |key| vec![announcement(key, 1, true)]);
}

fn a_replayed_announcement_gets_a_peer_dropped(io) {
    dropped_for_sending(69, io, |key| {
        vec![announcement(key, 5, false), announcement(key, 4, false)]
    });
}

fn a_peer_that_never_handshakes_is_dropped_at_the_deadline(io) {
    let deadline = Duration::from_millis(800);
    let config = NodeConfig {
        transport: TransportConfig {
            handshake_timeout: deadline,
            ..TransportConfig::default()
        },
        io,
        ..NodeConfig::default()
    };
    let node = node_with(72, config);
    let uri = listen(&node, Medium::Tcp);
    let started = Instant::now();
    let mut silent = TcpStream::connect(uri.trim_start_matches("tcp://")).expect("dial");
    // The node sends its own handshake, then waits for ours in vain.
    assert!(closed_within(&mut silent, Duration::from_secs(10)));
    let waited = started.elapsed();
    assert!(waited >= deadline, "closed after {waited:?}");
    assert!(waited < deadline * 5, "closed after {waited:?}");
    assert_eq!(peer_count(&node), 0);
}
}
