//! The in-memory switch: parse + route + enqueue on one core, through a
//! forwarding worker that owns 32 peerings, with a routing table of 1,000
//! SNEK paths built by a real router.
//!
//! Each iteration plays the I/O driver for one round: it copies a chunk of
//! frames into every peering's input buffer (the read), processes them,
//! and marks every output written. Cases:
//!
//! * `snek_transit_*`: frames already carrying their path's watermark, as
//!   on every hop after the first (forwarded byte for byte);
//! * `snek_first_hop_64B`: frames with a fresh watermark, rewritten here;
//! * `router_handle_frame_64B`: the same transit frames through the
//!   control plane's own single-threaded path, for comparison.
//!
//! Time is the benchmark thread's CPU time, not wall time, so that other
//! load on the machine does not count against the switch.

use std::hint::black_box;

use cpu_time::ThreadTime;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use pinecone_engine::control::{Config, Millis, PeerInfo, PeerType, Port, Router};
use pinecone_engine::forward::{Fabric, ForwardConfig, SlotId, Worker};
use pinecone_engine::wire::{
    frame_length, AnnouncementFrame, AnnouncementRepr, BootstrapRepr, Coords, PublicKey,
    RootPayloadRepr, TrafficRepr, Watermark,
};

const PEERS: usize = 32;
const PATHS: usize = 1_000;
/// Frames fed to each peering per round.
const FRAMES_PER_PEER: usize = 128;
const ROOT_SEQ: u64 = 1;
const NOW: Millis = Millis(1_700_000_000_000);

fn key(seed: u64, index: usize) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    bytes[8..16].copy_from_slice(&(index as u64).to_be_bytes());
    SigningKey::from_bytes(&bytes)
}

fn announcement(chain: &[(&SigningKey, u64)]) -> Vec<u8> {
    let mut repr = AnnouncementRepr::new_root(PublicKey::of(chain[0].0), ROOT_SEQ);
    for (key, hop) in chain {
        repr.sign_and_append(*hop, key).expect("signs");
    }
    let mut payload = vec![0; repr.encoded_len()];
    repr.emit(&mut payload).expect("fits");
    let mut frame = vec![0; AnnouncementFrame::encoded_len(payload.len())];
    AnnouncementFrame::emit(&payload, &mut frame).expect("fits");
    frame
}

fn bootstrap(key: &SigningKey, root: PublicKey, seq: u64) -> Vec<u8> {
    let signed = RootPayloadRepr {
        sequence: seq,
        root,
        root_seq: ROOT_SEQ,
    };
    let mut payload = vec![0; signed.encoded_len()];
    signed.emit_signed(key, &mut payload).expect("fits");
    let repr = BootstrapRepr {
        hop_limit: 0,
        dest_key: PublicKey::of(key),
        watermark: Watermark::FRESH,
        payload: &payload,
    };
    let mut frame = vec![0; repr.encoded_len()];
    repr.emit(&mut frame).expect("fits");
    frame
}

/// A SNEK path: its key, its watermark and the port it leads out of.
struct Path {
    key: PublicKey,
    watermark: Watermark,
    port: Port,
}

/// A router under the strongest of 32 peers (the others its children),
/// with 1,000 SNEK paths spread over the peers.
fn network() -> (Router, Vec<Port>, Vec<Path>) {
    let mut keys: Vec<SigningKey> = (0..=PEERS).map(|i| key(1, i)).collect();
    keys.sort_by_key(PublicKey::of);
    let root = keys.pop().expect("root");
    let own = keys.pop().expect("own");
    let config = Config {
        keepalives: false,
        wakeup_broadcasts: false,
        ..Config::default()
    };
    let mut router = Router::new(own.clone(), config, NOW);
    let attach = |router: &mut Router, key: &SigningKey| {
        let info = PeerInfo {
            key: PublicKey::of(key),
            peer_type: PeerType::Remote,
            zone: String::new(),
            uri: String::new(),
        };
        router.add_peer(info, NOW)
    };
    let root_port = attach(&mut router, &root);
    let mut ports = vec![root_port];
    let feed = |router: &mut Router, port: Port, frame: &[u8]| {
        router.handle_frame(port, frame, NOW).expect("valid frame");
    };
    feed(&mut router, root_port, &announcement(&[(&root, 1)]));
    for child in &keys {
        let port = attach(&mut router, child);
        let frame = announcement(&[(&root, 1), (&own, port), (child, 1)]);
        feed(&mut router, port, &frame);
        ports.push(port);
    }
    let mut paths = Vec::new();
    for i in 0..PATHS {
        let path_key = key(2, i);
        let port = ports[i % PEERS];
        feed(
            &mut router,
            port,
            &bootstrap(&path_key, PublicKey::of(&root), 5),
        );
        let key = PublicKey::of(&path_key);
        let entry = router
            .routing_table()
            .path(&key)
            .copied()
            .expect("path set up");
        paths.push(Path {
            key,
            watermark: entry.watermark(),
            port,
        });
    }
    while router.poll_transmit().is_some() {}
    while router.poll_event().is_some() {}
    (router, ports, paths)
}

fn traffic(path: &Path, fresh: bool, payload: &[u8]) -> Vec<u8> {
    let repr = TrafficRepr {
        hop_limit: 10,
        dest_coords: Coords::ROOT,
        src_coords: Coords(vec![3, 1, 4]),
        dest_key: path.key,
        src_key: PublicKey([0x11; 32]),
        watermark: if fresh {
            Watermark::FRESH
        } else {
            path.watermark
        },
        payload,
    };
    let mut frame = vec![0; repr.encoded_len()];
    repr.emit(&mut frame).expect("fits");
    frame
}

/// Per peering, one round of frames to paths that leave by other peerings.
fn streams(ports: &[Port], paths: &[Path], fresh: bool, payload: &[u8]) -> Vec<Vec<u8>> {
    ports
        .iter()
        .enumerate()
        .map(|(peer, &port)| {
            (0..)
                .map(|i| &paths[(peer * 37 + i * 101) % paths.len()])
                .filter(|path| path.port != port)
                .take(FRAMES_PER_PEER)
                .flat_map(|path| traffic(path, fresh, payload))
                .collect()
        })
        .collect()
}

/// One round of the I/O driver: read, process, write everything.
fn round(worker: &mut Worker, slots: &[SlotId], streams: &[Vec<u8>], writable: &mut Vec<SlotId>) {
    for (slot, stream) in slots.iter().zip(streams) {
        let space = worker.read_buffer(*slot);
        space[..stream.len()].copy_from_slice(stream);
        worker.filled(*slot, stream.len());
    }
    worker.process(NOW);
    worker.take_writable(writable);
    for slot in writable.drain(..) {
        let len = black_box(worker.output(slot)).len();
        worker.written(slot, len, NOW);
    }
}

/// The same round through the control plane's own forwarding path.
fn router_round(router: &mut Router, ports: &[Port], streams: &[Vec<u8>]) {
    for (port, stream) in ports.iter().zip(streams) {
        let mut rest = &stream[..];
        while let Ok(Some(len)) = frame_length(rest) {
            let (frame, tail) = rest.split_at(len);
            router.handle_frame(*port, frame, NOW).expect("valid frame");
            rest = tail;
        }
    }
    while let Some(transmit) = router.poll_transmit() {
        black_box(transmit);
    }
}

fn switch(c: &mut Criterion) {
    let (mut router, ports, paths) = network();
    let fabric = Fabric::new(ForwardConfig::default(), router.routing_table());
    let mut worker = fabric.worker(0).expect("worker 0");
    let slots: Vec<SlotId> = ports.iter().map(|&p| worker.attach(p, NOW)).collect();
    let small = [0x5a; 64];
    let mtu = [0x3c; 1280];
    let cases = [
        ("snek_transit_64B", streams(&ports, &paths, false, &small)),
        ("snek_transit_1280B", streams(&ports, &paths, false, &mtu)),
        ("snek_first_hop_64B", streams(&ports, &paths, true, &small)),
    ];
    let mut group = c.benchmark_group("in_memory_switch");
    group.throughput(Throughput::Elements((PEERS * FRAMES_PER_PEER) as u64));
    let mut writable = Vec::new();
    for (name, streams) in &cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), streams, |b, streams| {
            b.iter_custom(|iters| {
                let start = ThreadTime::now();
                for _ in 0..iters {
                    round(&mut worker, &slots, streams, &mut writable);
                }
                start.elapsed()
            });
        });
    }
    let total = |w: &Worker| -> u64 {
        slots
            .iter()
            .map(|s| w.counters(*s).expect("attached").snapshot().drops.total())
            .sum()
    };
    assert_eq!(total(&worker), 0, "the switch dropped frames");

    let transit = &cases[0].1;
    group.bench_function("router_handle_frame_64B", |b| {
        b.iter_custom(|iters| {
            let start = ThreadTime::now();
            for _ in 0..iters {
                router_round(&mut router, &ports, transit);
            }
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, switch);
criterion_main!(benches);
