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
//! * `snek_transit_64B_clock_ticking`: as `snek_transit_64B`, with the
//!   clock one millisecond on at every round (within a second, so that no
//!   path expires): the worker's route cache keeps its answers across
//!   instants, each until its path stops serving it;
//! * `snek_transit_64B_no_route_cache`: as `snek_transit_64B`, by a worker
//!   whose route cache has two entries, so that nearly every frame is routed
//!   by a search of the table;
//! * `router_handle_frame_64B`: the same transit frames through the
//!   control plane's own single-threaded path, for comparison.
//!
//! Time is the benchmark thread's CPU time, not wall time, so that other
//! load on the machine does not count against the switch.

use std::hint::black_box;
use std::sync::Arc;

use cpu_time::ThreadTime;
use criterion::{criterion_main, Bencher, Criterion, Throughput};
use pinecone_engine::control::{Millis, Port, Router};
use pinecone_engine::forward::{Fabric, ForwardConfig, SlotId, Worker};
use pinecone_engine::wire::{frame_length, Coords, PublicKey, TrafficRepr, Watermark};
use pinecone_netkit::fixture::{Fixture, EPOCH};
use pinecone_netkit::keys::signing_key;

const PEERS: usize = 32;
const PATHS: usize = 1_000;
/// Frames fed to each peering per round.
const FRAMES_PER_PEER: usize = 128;
/// The fixture's clock.
const NOW: Millis = EPOCH;

/// A SNEK path: its key, its watermark and the port it leads out of.
struct Path {
    key: PublicKey,
    watermark: Watermark,
    port: Port,
}

/// A router under the strongest of 32 peers (the others its children),
/// with 1,000 SNEK paths spread over the peers.
fn network() -> (Router, Vec<Port>, Vec<Path>) {
    let mut fixture = Fixture::new(PEERS);
    let ports = fixture.ports.clone();
    let paths = (0..PATHS)
        .map(|i| {
            let path_key = signing_key(2, i);
            let port = ports[i % PEERS];
            let watermark = fixture.add_path(&path_key, port);
            Path {
                key: PublicKey::of(&path_key),
                watermark,
                port,
            }
        })
        .collect();
    (fixture.router, ports, paths)
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
fn round(
    worker: &mut Worker,
    slots: &[SlotId],
    streams: &[Vec<u8>],
    writable: &mut Vec<SlotId>,
    now: Millis,
) {
    for (slot, stream) in slots.iter().zip(streams) {
        let space = worker.read_buffer(*slot);
        space[..stream.len()].copy_from_slice(stream);
        worker.filled(*slot, stream.len());
    }
    worker.process(now);
    worker.take_writable(writable);
    for slot in writable.drain(..) {
        let len = black_box(worker.output(slot)).len();
        worker.written(slot, len, now);
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

/// A worker that owns one slot per port, on its own fabric.
struct Switchboard {
    _fabric: Arc<Fabric>,
    worker: Worker,
    slots: Vec<SlotId>,
}

impl Switchboard {
    fn new(router: &mut Router, ports: &[Port], config: ForwardConfig) -> Switchboard {
        let fabric = Fabric::new(config, router.routing_table());
        let mut worker = fabric.worker(0).expect("worker 0");
        let slots = ports
            .iter()
            .map(|&p| worker.attach(fabric.lease(p), NOW).expect("leased"))
            .collect();
        Switchboard {
            _fabric: fabric,
            worker,
            slots,
        }
    }

    /// Measures rounds of `streams`, the clock moving on by `tick` ms a
    /// round (wrapping within a second).
    fn bench(&mut self, b: &mut Bencher<'_>, streams: &[Vec<u8>], tick: u64) {
        let mut writable = Vec::new();
        let mut offset = 0;
        b.iter_custom(|iters| {
            let start = ThreadTime::now();
            for _ in 0..iters {
                offset = (offset + tick) % 1_000;
                let now = Millis(NOW.0 + offset);
                round(&mut self.worker, &self.slots, streams, &mut writable, now);
            }
            start.elapsed()
        });
    }

    fn drops(&self) -> u64 {
        let stats = |s: &SlotId| self.worker.counters(*s).expect("attached").snapshot();
        self.slots.iter().map(|s| stats(s).drops.total()).sum()
    }
}

fn switch(c: &mut Criterion) {
    let (mut router, ports, paths) = network();
    let mut switchboard = Switchboard::new(&mut router, &ports, ForwardConfig::default());
    let uncached = ForwardConfig {
        route_cache_len: 2,
        ..ForwardConfig::default()
    };
    let mut uncached = Switchboard::new(&mut router, &ports, uncached);
    let small = [0x5a; 64];
    let mtu = [0x3c; 1280];
    let transit = streams(&ports, &paths, false, &small);
    let cases = [
        ("snek_transit_1280B", streams(&ports, &paths, false, &mtu)),
        ("snek_first_hop_64B", streams(&ports, &paths, true, &small)),
    ];
    let mut group = c.benchmark_group("in_memory_switch");
    group.throughput(Throughput::Elements((PEERS * FRAMES_PER_PEER) as u64));
    group.bench_function("snek_transit_64B", |b| switchboard.bench(b, &transit, 0));
    for (name, streams) in &cases {
        group.bench_function(*name, |b| switchboard.bench(b, streams, 0));
    }
    group.bench_function("snek_transit_64B_clock_ticking", |b| {
        switchboard.bench(b, &transit, 1)
    });
    group.bench_function("snek_transit_64B_no_route_cache", |b| {
        uncached.bench(b, &transit, 0)
    });
    assert_eq!(switchboard.drops() + uncached.drops(), 0, "frames dropped");
    group.bench_function("router_handle_frame_64B", |b| {
        b.iter_custom(|iters| {
            let start = ThreadTime::now();
            for _ in 0..iters {
                router_round(&mut router, &ports, &transit);
            }
            start.elapsed()
        });
    });
    group.finish();
}

/// The benchmarks of this file, with Criterion's settings from the command
/// line (what `criterion_group!` would generate, documented).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    switch(&mut criterion);
}

criterion_main!(benches);
