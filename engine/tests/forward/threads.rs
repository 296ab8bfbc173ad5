//! Two forwarding workers on their own threads: traffic crossing between
//! them arrives whole, once and in order per flow, and a peering that does
//! not read loses only its own traffic while the others keep flowing.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinecone_engine::forward::{DropCause, Fabric, ForwardConfig, SlotId, Worker};
use pinecone_engine::wire::{Frame, PublicKey, Watermark};
use pinecone_netkit::fixture::{drain_output, feed, snek_traffic, split_frames, Fixture, EPOCH};
use pinecone_netkit::keys::signing_key;

const PEERS: usize = 6;
const DEADLINE: Duration = Duration::from_secs(30);

/// Counts shared by the driver threads.
#[derive(Default)]
struct Progress {
    /// Counted frames that may be fed and not yet delivered, so that no
    /// queue or lane they go through overflows however the threads are
    /// scheduled.
    in_flight: usize,
    /// Frames of counted flows fed in.
    fed: AtomicUsize,
    /// Frames of counted flows written out.
    delivered: AtomicUsize,
    /// Threads that fed everything they had.
    finished_feeding: AtomicUsize,
}

/// One frame to feed: the bytes and whether it is counted.
struct Outgoing {
    bytes: Vec<u8>,
    counted: bool,
}

/// What one thread's driver feeds and reads.
#[derive(Default)]
struct Plan {
    /// Per slot, the frames to feed.
    sources: Vec<(SlotId, VecDeque<Outgoing>)>,
    /// Slots whose output the driver writes (the others never read).
    readers: Vec<SlotId>,
}

/// What one thread's driver does.
struct Driver {
    worker: Worker,
    plan: Plan,
}

/// The frames each reading slot (by worker and slot) wrote, in order.
type Written = HashMap<(usize, SlotId), Vec<Vec<u8>>>;

fn is_counted_payload(frame: &[u8]) -> bool {
    let Ok(Frame::Traffic(f)) = Frame::parse(frame) else {
        panic!("not traffic");
    };
    f.payload()[0] == 1
}

/// Runs the driver's rounds until every counted frame on both threads is
/// delivered, returning the worker and what was written.
fn drive(mut d: Driver, progress: &Progress, total: usize, threads: usize) -> (Worker, Written) {
    let start = Instant::now();
    let mut written = Written::new();
    let mut writable = Vec::new();
    let mut fed_all = false;
    loop {
        assert!(start.elapsed() < DEADLINE, "traffic stopped flowing");
        for (slot, frames) in &mut d.plan.sources {
            let room = progress.in_flight.saturating_sub(
                progress.fed.load(Ordering::SeqCst) - progress.delivered.load(Ordering::SeqCst),
            );
            let mut counted = 0;
            let mut chunk = Vec::new();
            while counted < room.min(8) {
                let Some(send) = frames.pop_front() else {
                    break;
                };
                counted += usize::from(send.counted);
                chunk.extend_from_slice(&send.bytes);
            }
            progress.fed.fetch_add(counted, Ordering::SeqCst);
            let space = d.worker.read_buffer(*slot);
            space[..chunk.len()].copy_from_slice(&chunk);
            d.worker.filled(*slot, chunk.len());
        }
        if !fed_all && d.plan.sources.iter().all(|(_, f)| f.is_empty()) {
            fed_all = true;
            progress.finished_feeding.fetch_add(1, Ordering::SeqCst);
        }
        let now = EPOCH;
        d.worker.process(now);
        assert!(d.worker.take_broken().is_empty());
        d.worker.take_writable(&mut writable);
        for slot in writable.drain(..) {
            if !d.plan.readers.contains(&slot) {
                continue;
            }
            let bytes = d.worker.output(slot).parts().concat();
            d.worker.written(slot, bytes.len(), now);
            let frames = split_frames(&bytes);
            let counted = frames.iter().filter(|f| is_counted_payload(f)).count();
            progress.delivered.fetch_add(counted, Ordering::SeqCst);
            written
                .entry((d.worker.index(), slot))
                .or_default()
                .extend(frames);
        }
        if progress.finished_feeding.load(Ordering::SeqCst) == threads
            && progress.delivered.load(Ordering::SeqCst) == total
        {
            return (d.worker, written);
        }
        std::thread::yield_now();
    }
}

/// Six peerings, three per worker, and a SNEK path to key `i` through
/// peering `i`.
struct Setup {
    fabric: Arc<Fabric>,
    workers: Vec<Worker>,
    /// Per peering: its worker and slot.
    slots: Vec<(usize, SlotId)>,
    keys: Vec<PublicKey>,
    watermarks: Vec<Watermark>,
    src: PublicKey,
}

fn setup(config: ForwardConfig) -> Setup {
    let mut fixture = Fixture::new(PEERS);
    let (mut keys, mut watermarks) = (Vec::new(), Vec::new());
    for i in 0..PEERS {
        let key = signing_key(3, i);
        watermarks.push(fixture.add_path(&key, fixture.ports[i]));
        keys.push(PublicKey::of(&key));
    }
    let fabric = Fabric::new(
        ForwardConfig {
            workers: 2,
            ..config
        },
        fixture.table(),
    );
    let mut workers: Vec<Worker> = (0..2).map(|i| fabric.worker(i).unwrap()).collect();
    assert!(fabric.worker(0).is_none(), "each worker is handed out once");
    let slots = fixture
        .ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            let w = i * 2 / PEERS;
            (
                w,
                workers[w]
                    .attach(fabric.lease(port), EPOCH)
                    .expect("leased"),
            )
        })
        .collect();
    Setup {
        fabric,
        workers,
        slots,
        keys,
        watermarks,
        src: fixture.peer_key(0),
    }
}

/// A frame from peering `from` to key `to`: payload = counted flag, from,
/// to, sequence.
fn flow_frame(s: &Setup, from: usize, to: usize, seq: u32, counted: bool, pad: usize) -> Outgoing {
    let mut payload = vec![u8::from(counted), from as u8, to as u8];
    payload.extend_from_slice(&seq.to_be_bytes());
    payload.resize(payload.len() + pad, 0xee);
    Outgoing {
        bytes: snek_traffic(s.keys[to], s.src, s.watermarks[to], &payload),
        counted,
    }
}

/// Runs one driver per worker on its own thread.
fn run(s: &mut Setup, in_flight: usize, drivers: [Plan; 2], total: usize) -> Written {
    let progress = Progress {
        in_flight,
        ..Progress::default()
    };
    let workers = std::mem::take(&mut s.workers);
    let results: Vec<(Worker, Written)> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .into_iter()
            .zip(drivers)
            .map(|(worker, plan)| {
                let progress = &progress;
                scope.spawn(move || {
                    let driver = Driver { worker, plan };
                    drive(driver, progress, total, 2)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Written::new();
    for (worker, written) in results {
        s.workers.push(worker);
        all.extend(written);
    }
    // Whatever is still crossing is taken in.
    for _ in 0..2 {
        for worker in &mut s.workers {
            worker.process(EPOCH);
        }
    }
    all
}

#[test]
fn traffic_crosses_workers_whole_once_and_in_order() {
    // Every batch holds at least one undelivered frame, so a queue longer
    // than the frames in flight never overflows.
    let mut s = setup(ForwardConfig {
        crossing_queue_len: 128,
        ..ForwardConfig::default()
    });
    const PER_FLOW: u32 = 150;
    let mut drivers: [Plan; 2] = Default::default();
    for from in 0..PEERS {
        let mut frames = VecDeque::new();
        for seq in 0..PER_FLOW {
            for to in (0..PEERS).filter(|&to| to != from) {
                frames.push_back(flow_frame(
                    &s,
                    from,
                    to,
                    seq,
                    true,
                    (seq as usize * 7) % 300,
                ));
            }
        }
        let (w, slot) = s.slots[from];
        drivers[w].sources.push((slot, frames));
        drivers[w].readers.push(slot);
    }
    let total = PEERS * (PEERS - 1) * PER_FLOW as usize;
    let written = run(&mut s, 64, drivers, total);

    for to in 0..PEERS {
        let frames = &written[&s.slots[to]];
        assert_eq!(frames.len(), (PEERS - 1) * PER_FLOW as usize);
        let mut next = [0u32; PEERS];
        for frame in frames {
            let Ok(Frame::Traffic(f)) = Frame::parse(frame) else {
                panic!("not traffic");
            };
            assert_eq!(f.dest_key(), s.keys[to]);
            let p = f.payload();
            assert_eq!(usize::from(p[2]), to);
            let from = usize::from(p[1]);
            let seq = u32::from_be_bytes([p[3], p[4], p[5], p[6]]);
            assert_eq!(seq, next[from], "flow {from} → {to} out of order");
            next[from] += 1;
        }
    }
    for &(w, slot) in &s.slots {
        let stats = s.workers[w].counters(slot).unwrap().snapshot();
        assert_eq!(stats.drops.total(), 0);
        assert_eq!(stats.frames_in, (PEERS - 1) as u64 * u64::from(PER_FLOW));
    }
}

#[test]
fn a_peering_that_does_not_read_loses_only_its_own_traffic() {
    let config = ForwardConfig {
        traffic_lane_len: 8 << 10,
        crossing_queue_len: 256,
        ..ForwardConfig::default()
    };
    let mut s = setup(config);
    // Peering 3 (on worker 1) never reads; peering 4 (also on worker 1)
    // does. Every peering of worker 0 sends to both.
    const PER_FLOW: u32 = 400;
    let (slow, fast) = (3, 4);
    let mut drivers: [Plan; 2] = Default::default();
    for from in 0..3 {
        let mut frames = VecDeque::new();
        for seq in 0..PER_FLOW {
            frames.push_back(flow_frame(&s, from, slow, seq, false, 200));
            frames.push_back(flow_frame(&s, from, fast, seq, true, 200));
        }
        drivers[0].sources.push((s.slots[from].1, frames));
    }
    drivers[1].readers.push(s.slots[fast].1);
    let total = 3 * PER_FLOW as usize;
    // Counted frames are about 300 bytes: 16 fit in the fast lane.
    let written = run(&mut s, 16, drivers, total);

    assert_eq!(written[&s.slots[fast]].len(), total);
    let fast_stats = s.workers[1].counters(s.slots[fast].1).unwrap().snapshot();
    assert_eq!(fast_stats.drops.total(), 0);
    let slow_stats = s.workers[1].counters(s.slots[slow].1).unwrap().snapshot();
    let dropped =
        slow_stats.drops.get(DropCause::OutputFull) + slow_stats.drops.get(DropCause::CrossingFull);
    assert!(dropped > 0, "the slow peering's lane filled up");
    assert_eq!(slow_stats.frames_out + dropped, total as u64);
    let queued = s.workers[1].output(s.slots[slow].1).len();
    assert!(queued <= 8 << 10);
    assert_eq!(
        split_frames(&s.workers[1].output(s.slots[slow].1).parts().concat()).len() as u64,
        slow_stats.frames_out
    );
    assert_eq!(s.fabric.ports().ports().count(), PEERS);
}

#[test]
fn a_full_crossing_queue_holds_frames_back_instead_of_dropping_them() {
    // Batches of one maximum frame (the least there is), a queue of one.
    let mut s = setup(ForwardConfig {
        crossing_queue_len: 1,
        batch_len: 1,
        ..ForwardConfig::default()
    });
    let rung = Arc::new(AtomicUsize::new(0));
    let ring = Arc::clone(&rung);
    assert!(s.fabric.doorbell(0).unwrap().install(move || {
        ring.fetch_add(1, Ordering::SeqCst);
    }));
    // From a peering of worker 0 to one of worker 1: about three batches'
    // worth, for a queue of one batch.
    let (from, to) = (0, 4);
    let (w_from, slot_from) = s.slots[from];
    let (w_to, slot_to) = s.slots[to];
    assert_eq!((w_from, w_to), (0, 1));
    let total = 200u32;
    let stream: Vec<u8> = (0..total)
        .flat_map(|seq| flow_frame(&s, from, to, seq, true, 1_000).bytes)
        .collect();
    feed(&mut s.workers[0], slot_from, &stream);
    s.workers[0].process(EPOCH);
    let taken = s.workers[0]
        .counters(slot_from)
        .unwrap()
        .snapshot()
        .frames_in;
    assert!(taken < u64::from(total), "worker 0 stopped taking frames");
    assert_eq!(rung.load(Ordering::SeqCst), 0);

    let mut seqs = Vec::new();
    for _ in 0..50 {
        s.workers[1].process(EPOCH);
        for frame in split_frames(&drain_output(&mut s.workers[1], slot_to, EPOCH)) {
            let Ok(Frame::Traffic(f)) = Frame::parse(&frame) else {
                panic!("not traffic");
            };
            let p = f.payload();
            seqs.push(u32::from_be_bytes([p[3], p[4], p[5], p[6]]));
        }
        s.workers[0].process(EPOCH);
        if seqs.len() == total as usize {
            break;
        }
    }
    assert_eq!(seqs, (0..total).collect::<Vec<_>>());
    assert!(rung.load(Ordering::SeqCst) > 0, "worker 0 was woken");
    for &(w, slot) in &s.slots {
        let stats = s.workers[w].counters(slot).unwrap().snapshot();
        assert_eq!(stats.drops.total(), 0);
    }
}
