//! Attacks on a real daemon over loopback: hostile peers on 127.0.0.2 and
//! up, honest ones on 127.0.0.1. Each test asserts that the honest peers
//! keep working throughout (they peer within a second, their gaps between
//! frames from the daemon stay under 3.5 s, their datagrams cross the
//! daemon), that the daemon's memory stays bounded, and that it still
//! shuts down promptly.

mod attack_support;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use attack_support::{
    connect_from, fresh_key, handshaken, loopback, one_at_a_time, slot_holders, test_io, Attack,
    Daemon, FrameReader, Probe, ProbeReport, MAX_GAP,
};
use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    BootstrapRepr, BroadcastRepr, PublicKey, RootPayloadRepr, Watermark, SIGNATURE_LEN,
};
use pinecone_transports::{Node, NodeConfig};

const HONEST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// An honest peer must complete its handshake within this while the
/// daemon is under attack.
const PEER_WITHIN: Duration = Duration::from_secs(1);

/// The daemon's peak memory must stay under this (a debug build with a
/// few dozen peerings needs far less).
const MEMORY_BOUND_KIB: u64 = 160 * 1024;

/// Two honest nodes peered with the daemon, which carries their datagrams.
struct HonestPair {
    a: Node,
    b: Node,
}

impl HonestPair {
    fn join(daemon: &Daemon) -> HonestPair {
        let node = || {
            let config = NodeConfig {
                io: test_io(),
                ..NodeConfig::default()
            };
            let node = Node::random(config).expect("start a node");
            node.connect(&format!("tcp://{}", daemon.tcp))
                .expect("connect");
            node
        };
        HonestPair {
            a: node(),
            b: node(),
        }
    }

    /// Sends `count` datagrams each way (a second apart at most, each
    /// awaited); returns how many arrived.
    fn exchange(&self, count: usize) -> usize {
        let mut arrived = 0;
        for (from, to) in [(&self.a, &self.b), (&self.b, &self.a)] {
            for i in 0..count {
                let payload = format!("datagram {i}").into_bytes();
                let deadline = Instant::now() + Duration::from_secs(10);
                // The first datagrams may be sent before the paths exist.
                while Instant::now() < deadline {
                    let _ = from.send(to.public_key(), &payload);
                    if let Some(datagram) = to.recv_timeout(Duration::from_secs(1)) {
                        if datagram.payload == payload {
                            arrived += 1;
                            break;
                        }
                    }
                }
            }
        }
        arrived
    }
}

/// Checks what an honest probe saw.
fn assert_served(name: &str, report: &ProbeReport) {
    assert!(
        !report.closed,
        "{name}: the daemon closed an honest peering"
    );
    assert!(report.frames > 0, "{name}: no frames from the daemon");
    assert!(
        report.max_gap < MAX_GAP,
        "{name}: {:?} without a frame from the daemon",
        report.max_gap
    );
}

/// The parts of an attack test that are the same every time: honest
/// probes and an honest pair run for `duration` under `attack`; then
/// their service, the daemon's memory and its shutdown are checked.
fn under_attack(daemon: Daemon, attack: Attack, duration: Duration) -> [u64; 4] {
    let started = Instant::now();
    // Let the attack take hold before the honest peers arrive.
    thread::sleep(Duration::from_millis(500));
    let probes: Vec<Probe> = (0..2)
        .map(|_| Probe::start(HONEST, daemon.tcp, PEER_WITHIN))
        .collect();
    for probe in &probes {
        assert!(
            probe.handshake_took < PEER_WITHIN,
            "an honest peer took {:?} to peer",
            probe.handshake_took
        );
    }
    let pair = HonestPair::join(&daemon);
    assert_eq!(pair.exchange(5), 10, "honest datagrams lost under attack");
    let (status, took) = daemon.manhole_from(HONEST);
    assert!(status.contains("200"), "manhole answered {status:?}");
    assert!(took < Duration::from_secs(1), "the manhole took {took:?}");
    if let Some(left) = duration.checked_sub(started.elapsed()) {
        thread::sleep(left);
    }
    assert_eq!(
        pair.exchange(5),
        10,
        "honest datagrams lost late in the attack"
    );
    for (i, probe) in probes.into_iter().enumerate() {
        assert_served(&format!("probe {i}"), &probe.finish());
    }
    let counts = attack.finish();
    let peak = daemon.peak_kib();
    assert!(peak < MEMORY_BOUND_KIB, "the daemon peaked at {peak} KiB");
    drop(pair);
    let took = daemon.terminate();
    assert!(took < Duration::from_secs(3), "SIGTERM took {took:?}");
    counts
}

#[test]
fn slot_holders_on_one_address_do_not_keep_others_out() {
    let _serial = one_at_a_time();
    let daemon = Daemon::start(&[]);
    let attacker = loopback(2);
    let attack = slot_holders(attacker, &[daemon.tcp, daemon.ws], 300);
    // Past the 10 s setup deadline, so held places are recycled too.
    let [opened, ..] = under_attack(daemon, attack, Duration::from_secs(12));
    assert!(
        opened > 600,
        "the holders reopened only {opened} connections"
    );
}

/// A bootstrap for `root` whose signature is random bytes.
fn badly_signed_bootstrap(key: &SigningKey, root: (PublicKey, u64)) -> Vec<u8> {
    let mut payload = signed_payload(key, root);
    let len = payload.len();
    for byte in &mut payload[len - SIGNATURE_LEN..] {
        *byte = rand_byte();
    }
    let repr = BootstrapRepr {
        hop_limit: 0,
        dest_key: PublicKey::of(key),
        watermark: Watermark::FRESH,
        payload: &payload,
    };
    let mut frame = vec![0; repr.encoded_len()];
    repr.emit(&mut frame).expect("encode a bootstrap");
    frame
}

fn rand_byte() -> u8 {
    let mut byte = [0u8; 1];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut byte);
    byte[0]
}

/// A root payload for `root`, signed by `key`, stamped now.
fn signed_payload(key: &SigningKey, (root, root_seq): (PublicKey, u64)) -> Vec<u8> {
    let sequence = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64);
    let repr = RootPayloadRepr {
        sequence,
        root,
        root_seq,
    };
    let mut payload = vec![0; repr.encoded_len()];
    let len = repr.emit_signed(key, &mut payload).expect("sign");
    payload.truncate(len);
    payload
}

#[test]
fn bad_signature_floods_get_each_flooder_cut_off() {
    let _serial = one_at_a_time();
    let daemon = Daemon::start(&[]);
    let target = daemon.tcp;
    // Counts: 0 = frames sent, 1 = times the daemon cut a flooder off.
    let attack = Attack::run(2, move |stop, counts, index| {
        let source = loopback(3 + index as u8);
        while !stop.load(Ordering::SeqCst) {
            let key = fresh_key();
            let Ok(stream) = handshaken(source, target, &key, Duration::from_secs(2)) else {
                thread::sleep(Duration::from_millis(50));
                continue;
            };
            let mut reader = FrameReader::new(stream, Duration::from_millis(200));
            let Some(root) = reader.root(Duration::from_secs(2)) else {
                continue;
            };
            let burst: Vec<u8> = (0..200)
                .flat_map(|_| badly_signed_bootstrap(&key, root))
                .collect();
            let mut writer = reader.stream();
            while !stop.load(Ordering::SeqCst) {
                if writer.write_all(&burst).is_err() {
                    counts[1].fetch_add(1, Ordering::Relaxed);
                    break;
                }
                counts[0].fetch_add(200, Ordering::Relaxed);
            }
        }
    });
    let [sent, cut_off, ..] = under_attack(daemon, attack, Duration::from_secs(10));
    assert!(sent > 1_000, "only {sent} bad bootstraps were sent");
    assert!(cut_off >= 4, "flooders were cut off only {cut_off} times");
}

#[test]
fn a_flood_of_peerings_from_one_address_is_capped() {
    let _serial = one_at_a_time();
    let daemon = Daemon::start(&["--max-peers-per-source", "16", "--max-peers-per-key", "4"]);
    let target = daemon.tcp;
    // Counts: 0 = handshakes completed, 1 = peerings still open at the end.
    let attack = Attack::run(1, move |stop, counts, _| {
        let source = loopback(7);
        let mut open: Vec<FrameReader> = Vec::new();
        let shared_key = fresh_key();
        for i in 0..60 {
            // A third of them share one key.
            let key = if i % 3 == 0 {
                shared_key.clone()
            } else {
                fresh_key()
            };
            if let Ok(stream) = handshaken(source, target, &key, Duration::from_secs(2)) {
                counts[0].fetch_add(1, Ordering::Relaxed);
                open.push(FrameReader::new(stream, Duration::from_millis(1)));
            }
        }
        let keepalive = keepalive_frame();
        while !stop.load(Ordering::SeqCst) {
            open.retain_mut(|peering| {
                peering.next_frames().is_some() && peering.stream().write_all(&keepalive).is_ok()
            });
            thread::sleep(Duration::from_millis(500));
        }
        counts[1].store(open.len() as u64, Ordering::Relaxed);
    });
    let [handshakes, still_open, ..] = under_attack(daemon, attack, Duration::from_secs(8));
    assert!(handshakes >= 50, "only {handshakes} handshakes completed");
    assert!(
        still_open <= 16,
        "{still_open} peerings from one address stayed up past the limit of 16"
    );
    assert!(still_open >= 8, "only {still_open} peerings stayed up");
}

fn keepalive_frame() -> Vec<u8> {
    let mut frame = [0u8; 16];
    let len = pinecone_engine::wire::emit_keepalive(&mut frame).expect("keepalive");
    frame[..len].to_vec()
}

#[test]
fn manhole_clients_that_never_send_or_never_read_cannot_hold_the_listener() {
    let _serial = one_at_a_time();
    let daemon = Daemon::start(&[]);
    let ws = daemon.ws;
    // Counts: 0 = connections held, 1 = still open 11 s later.
    let attack = Attack::run(1, move |stop, counts, _| {
        let attacker = loopback(8);
        let mut held = Vec::new();
        for _ in 0..20 {
            // One never sends a request; the other never reads the answer.
            if let Ok(stream) = connect_from(attacker, ws) {
                held.push(stream);
            }
            if let Ok(mut stream) = connect_from(attacker, ws) {
                let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&stream, 1);
                let _ = stream.write_all(b"GET /manhole HTTP/1.1\r\nHost: x\r\n\r\n");
                held.push(stream);
            }
        }
        counts[0].store(held.len() as u64, Ordering::Relaxed);
        // Past the setup deadline (10 s from accept), each must be closed.
        let deadline = Instant::now() + Duration::from_secs(11);
        while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(50));
        }
        let mut open = 0;
        for stream in &mut held {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut sink = Vec::new();
            if let Err(error) = stream.read_to_end(&mut sink) {
                open += usize::from(error.kind() == std::io::ErrorKind::WouldBlock);
            }
        }
        counts[1].store(open as u64, Ordering::Relaxed);
        while !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(50));
        }
    });
    let [held, still_open, ..] = under_attack(daemon, attack, Duration::from_secs(12));
    assert!(held >= 16, "only {held} connections were held");
    assert_eq!(
        still_open, 0,
        "held manhole connections outlived the deadline"
    );
}

#[test]
fn a_broadcast_hop_limit_of_255_is_treated_as_5() {
    let _serial = one_at_a_time();
    let daemon = Daemon::start(&[]);
    let probe = Probe::start(HONEST, daemon.tcp, PEER_WITHIN);
    let key = fresh_key();
    let stream =
        handshaken(loopback(9), daemon.tcp, &key, PEER_WITHIN).expect("the broadcaster peers");
    let mut reader = FrameReader::new(stream, Duration::from_millis(200));
    let root = reader
        .root(Duration::from_secs(5))
        .expect("the daemon's root");
    let payload = signed_payload(&key, root);
    let repr = BroadcastRepr {
        hop_limit: 255,
        source_key: PublicKey::of(&key),
        payload: &payload,
    };
    let mut frame = vec![0; repr.encoded_len()];
    repr.emit(&mut frame).expect("encode a broadcast");
    reader
        .stream()
        .write_all(&frame)
        .expect("send the broadcast");
    thread::sleep(Duration::from_secs(2));
    let report = probe.finish();
    let hops: Vec<u8> = report
        .broadcasts
        .iter()
        .filter(|(source, _)| *source == PublicKey::of(&key))
        .map(|&(_, hop)| hop)
        .collect();
    assert_eq!(hops, vec![4], "the broadcast was flooded on with {hops:?}");
}

#[test]
fn a_websocket_peer_that_breaks_the_framing_is_cut_off_alone() {
    use tungstenite::{Bytes, Message};
    let _serial = one_at_a_time();
    let daemon = Daemon::start(&[]);
    let probe = Probe::start(HONEST, daemon.tcp, PEER_WITHIN);
    let tcp = connect_from(loopback(10), daemon.ws).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let (mut client, _) =
        tungstenite::client(format!("ws://{}/", daemon.ws), tcp).expect("upgrade");
    let key = fresh_key();
    let ours = pinecone_engine::wire::Handshake::new(&key);
    client
        .send(Message::Binary(Bytes::copy_from_slice(ours.as_bytes())))
        .expect("handshake");
    // The daemon's handshake, then its tree announcement, arrive framed.
    let mut received = 0;
    while received < pinecone_engine::wire::HANDSHAKE_LEN {
        match client.read().expect("the daemon answers") {
            Message::Binary(payload) => received += payload.len(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    client
        .send(Message::text("not a peering"))
        .expect("send text");
    let started = Instant::now();
    let cut_off = loop {
        match client.read() {
            Ok(Message::Close(_)) => break true,
            Err(tungstenite::Error::Io(error))
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false
            }
            Err(_) => break true,
            Ok(_) if started.elapsed() < Duration::from_secs(3) => continue,
            Ok(_) => break false,
        }
    };
    assert!(cut_off, "the daemon kept a peer that sent a text message");
    thread::sleep(Duration::from_secs(1));
    assert_served("probe", &probe.finish());
    let took = daemon.terminate();
    assert!(took < Duration::from_secs(3), "SIGTERM took {took:?}");
}
