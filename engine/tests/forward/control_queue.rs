//! The queue of received protocol frames to the control plane, bounded in
//! bytes per peering and in total: a frame's bytes count until the control
//! plane drops it, a peering at its bound is not read while the others
//! flow, and dropping its frames wakes its worker and lets it go on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use pinecone_engine::forward::{ControlFrame, Fabric, ForwardConfig, SlotId, Worker};
use pinecone_engine::wire::{AnnouncementFrame, MAX_FRAME_LEN};
use pinecone_netkit::fixture::{feed, Fixture, EPOCH};

/// Bytes of each protocol frame the tests send.
const FRAME: usize = 10_000;

/// A protocol frame of [`FRAME`] bytes (a tree announcement: the
/// forwarding plane does not look inside it).
fn protocol_frame(tag: u8) -> Vec<u8> {
    let payload = vec![tag; FRAME - AnnouncementFrame::encoded_len(0)];
    let mut frame = vec![0; FRAME];
    AnnouncementFrame::emit(&payload, &mut frame).unwrap();
    frame
}

fn frames(tag: u8, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|_| protocol_frame(tag)).collect()
}

/// One worker with `peers` peerings, and a count of its wakeups.
struct Setup {
    fabric: Arc<Fabric>,
    worker: Worker,
    slots: Vec<SlotId>,
    wakes: Arc<AtomicUsize>,
}

impl Setup {
    fn new(peers: usize, config: ForwardConfig) -> Setup {
        let mut fixture = Fixture::new(peers);
        let fabric = Fabric::new(config, fixture.table());
        let mut worker = fabric.worker(0).unwrap();
        let slots = fixture
            .ports
            .iter()
            .map(|&port| worker.attach(fabric.lease(port), EPOCH).expect("leased"))
            .collect();
        let wakes = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&wakes);
        assert!(fabric.doorbell(0).unwrap().install(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        Setup {
            fabric,
            worker,
            slots,
            wakes,
        }
    }

    fn charged(&self, peer: usize) -> usize {
        self.worker
            .counters(self.slots[peer])
            .unwrap()
            .control_bytes()
    }

    fn port(&self, peer: usize) -> u64 {
        self.worker.port(self.slots[peer]).unwrap()
    }

    /// Everything queued for the control plane, held (not dropped).
    fn poll_all(&self) -> Vec<ControlFrame> {
        std::iter::from_fn(|| self.fabric.poll_control()).collect()
    }
}

/// One maximum frame's worth per peering (the smallest bound, to which 0
/// is raised), the default total.
fn smallest_peering_bound() -> ForwardConfig {
    ForwardConfig {
        control_bytes_per_peering: 0,
        ..ForwardConfig::default()
    }
}

#[test]
fn a_flooding_peering_is_held_at_its_bound_while_another_flows() {
    let mut s = Setup::new(3, smallest_peering_bound());
    let flood = frames(1, 20);
    let other = frames(2, 2);
    feed(&mut s.worker, s.slots[1], &flood.concat());
    s.worker.process(EPOCH);
    // Six frames fit in one maximum frame's worth of bytes.
    let fits = MAX_FRAME_LEN / FRAME;
    assert_eq!(s.charged(1), fits * FRAME);
    assert_eq!(s.fabric.control_bytes(), fits * FRAME);
    assert!(!s.worker.wants_read(s.slots[1]), "the flooder is not read");
    let mut held = s.poll_all();
    assert_eq!(held.len(), fits);
    // Polled but not yet dropped: still charged, still held back.
    s.worker.process(EPOCH);
    assert_eq!(s.charged(1), fits * FRAME);
    assert!(s.poll_all().is_empty());

    // Another peering's frames still reach the control plane, and only
    // what it sent counts against it.
    let stats = s.worker.counters(s.slots[1]).unwrap().snapshot();
    assert_eq!(stats.control_bytes, (fits * FRAME) as u64);
    assert!(s.worker.wants_read(s.slots[2]));
    feed(&mut s.worker, s.slots[2], &other.concat());
    s.worker.process(EPOCH);
    let from_other = s.poll_all();
    assert_eq!(from_other.len(), 2);
    assert!(from_other.iter().all(|f| f.port == s.port(2)));
    assert_eq!(s.charged(2), 2 * FRAME);
    drop(from_other);
    assert_eq!(s.charged(2), 0);

    // Dropping the flooder's frames wakes its worker, which goes on.
    let mut received = held.len();
    while received < flood.len() {
        // The driver's round while nothing is released: still held back.
        s.worker.process(EPOCH);
        assert!(s.poll_all().is_empty());
        let before = s.wakes.load(Ordering::SeqCst);
        held.clear();
        assert_eq!(s.charged(1), 0);
        assert!(s.wakes.load(Ordering::SeqCst) > before, "woken on release");
        s.worker.process(EPOCH);
        assert!(s.charged(1) <= MAX_FRAME_LEN);
        held = s.poll_all();
        assert!(held
            .iter()
            .all(|f| f.port == s.port(1) && f.frame == flood[0]));
        assert!(!held.is_empty(), "the flooder went on");
        received += held.len();
    }
    assert_eq!(received, flood.len());
    assert!(s.worker.wants_read(s.slots[1]));
    drop(held);
    assert_eq!(s.fabric.control_bytes(), 0);
}

#[test]
fn the_total_bound_holds_over_every_peering() {
    let config = ForwardConfig {
        control_bytes_per_peering: 0,
        control_queue_bytes: 10 * FRAME,
        ..ForwardConfig::default()
    };
    let mut s = Setup::new(3, config);
    for peer in 0..3 {
        feed(
            &mut s.worker,
            s.slots[peer],
            &frames(peer as u8, 10).concat(),
        );
    }
    let mut received = [0; 3];
    let mut rounds = 0;
    while received.iter().sum::<usize>() < 30 {
        rounds += 1;
        assert!(rounds < 20, "stopped flowing");
        s.worker.process(EPOCH);
        assert!(s.fabric.control_bytes() <= 10 * FRAME);
        let charged: usize = (0..3).map(|peer| s.charged(peer)).sum();
        assert_eq!(charged, s.fabric.control_bytes());
        let held = s.poll_all();
        if rounds == 1 {
            assert_eq!(held.len(), 10, "the total's worth and no more");
        }
        for frame in &held {
            let peer = (0..3).find(|&p| s.port(p) == frame.port).unwrap();
            assert_eq!(frame.frame, protocol_frame(peer as u8));
            received[peer] += 1;
        }
    }
    assert_eq!(received, [10; 3]);
}

/// Wakes a thread parked on it.
#[derive(Default)]
struct Bell {
    rung: Mutex<bool>,
    ringing: Condvar,
}

impl Bell {
    fn ring(&self) {
        *self.rung.lock().unwrap() = true;
        self.ringing.notify_one();
    }

    /// Waits for a ring; panics after `limit` without one.
    fn wait(&self, limit: Duration) {
        let rung = self.rung.lock().unwrap();
        let (mut rung, timeout) = self
            .ringing
            .wait_timeout_while(rung, limit, |rung| !*rung)
            .unwrap();
        assert!(!timeout.timed_out(), "a wakeup was lost");
        *rung = false;
    }
}

#[test]
fn a_worker_held_back_is_always_woken_by_a_release_on_another_thread() {
    let mut fixture = Fixture::new(2);
    let fabric = Fabric::new(smallest_peering_bound(), fixture.table());
    let mut worker = fabric.worker(0).unwrap();
    let slot = worker
        .attach(fabric.lease(fixture.ports[1]), EPOCH)
        .expect("leased");
    let bell = Arc::new(Bell::default());
    let ringer = Arc::clone(&bell);
    assert!(fabric.doorbell(0).unwrap().install(move || ringer.ring()));
    let total = 600;
    let flood = protocol_frame(7);

    let driver = thread::spawn(move || {
        let mut fed = 0;
        let mut waits = 0;
        loop {
            if fed < total && worker.wants_read(slot) {
                let space = worker.read_buffer(slot);
                let n = (space.len() / FRAME).min(total - fed);
                for chunk in space.chunks_mut(FRAME).take(n) {
                    chunk.copy_from_slice(&flood);
                }
                worker.filled(slot, n * FRAME);
                fed += n;
            }
            worker.process(EPOCH);
            if !worker.wants_read(slot) {
                // Held back: only a release can let it go on.
                bell.wait(Duration::from_secs(10));
                waits += 1;
            } else if fed == total {
                return (worker, waits);
            }
        }
    });

    let start = Instant::now();
    let mut received = 0;
    let mut held = Vec::new();
    while received < total {
        assert!(start.elapsed() < Duration::from_secs(30), "stopped flowing");
        let counters = fabric.counters(fixture.ports[1]).unwrap();
        assert!(counters.control_bytes() <= MAX_FRAME_LEN);
        match fabric.poll_control() {
            Some(frame) => {
                received += 1;
                held.push(frame);
            }
            None => thread::yield_now(),
        }
        // Drop what is held now and then, one frame at a time.
        if held.len() > 3 || (!held.is_empty() && counters.control_bytes() > MAX_FRAME_LEN - FRAME)
        {
            held.remove(0);
        }
    }
    drop(held);
    let (worker, waits) = driver.join().unwrap();
    assert!(waits > 0, "the worker was held back");
    assert_eq!(
        worker.counters(slot).unwrap().snapshot().frames_in,
        total as u64
    );
    assert_eq!(fabric.control_bytes(), 0);
}

#[test]
fn frames_of_a_detached_peering_are_not_handed_over_as_its_ports_next_peerings() {
    let mut s = Setup::new(2, ForwardConfig::default());
    let port = s.port(1);
    feed(&mut s.worker, s.slots[1], &frames(1, 3).concat());
    s.worker.process(EPOCH);
    assert_eq!(s.charged(1), 3 * FRAME);
    // The peering closes with its frames still queued, and a new peering
    // takes its port before the control plane looks at the queue.
    assert_eq!(s.worker.detach(s.slots[1]), Some(port));
    let next = s
        .worker
        .attach(s.fabric.lease(port), EPOCH)
        .expect("leased");
    feed(&mut s.worker, next, &frames(2, 1).concat());
    s.worker.process(EPOCH);
    let received = s.poll_all();
    assert_eq!(received.len(), 1, "only the new peering's frame");
    assert_eq!(received[0].port, port);
    assert_eq!(received[0].frame, protocol_frame(2));
    drop(received);
    // The old frames' bytes were given back when they were dropped.
    assert_eq!(s.fabric.control_bytes(), 0);
}

#[test]
fn frames_of_a_peering_the_control_plane_closed_are_dropped_before_its_worker_detaches_it() {
    let config = ForwardConfig {
        workers: 2,
        ..ForwardConfig::default()
    };
    let mut s = Setup::new(2, config);
    let port = s.port(1);
    feed(&mut s.worker, s.slots[1], &frames(1, 3).concat());
    s.worker.process(EPOCH);
    // The control plane closes the peering; its worker has not detached
    // it yet, and it goes on queueing frames meanwhile.
    let counted = s.fabric.stats();
    s.fabric.unpublish(port);
    assert_eq!(
        s.fabric.stats().frames_in,
        counted.frames_in,
        "still counted"
    );
    // The router has given the port to a new peering, which its worker has
    // not attached yet either, when the control plane looks at the queue.
    feed(&mut s.worker, s.slots[1], &frames(3, 1).concat());
    s.worker.process(EPOCH);
    assert!(s.poll_all().is_empty(), "the closed peering's frames");
    let mut other = s.fabric.worker(1).unwrap();
    let next = other.attach(s.fabric.lease(port), EPOCH).expect("leased");
    feed(&mut other, next, &frames(2, 1).concat());
    other.process(EPOCH);
    let received = s.poll_all();
    assert_eq!(received.len(), 1, "only the new peering's frame");
    assert_eq!(received[0].port, port);
    assert_eq!(received[0].frame, protocol_frame(2));
    drop(received);
    // The old peering's late detach leaves the new peering's port alone.
    assert_eq!(s.worker.detach(s.slots[1]), Some(port));
    assert!(s.fabric.ports().get(port).is_some_and(|l| l.worker == 1));
    assert_eq!(s.fabric.control_bytes(), 0);
    // Counted once: 3 + 1 frames from the old peering, 1 from the new.
    assert_eq!(s.fabric.stats().frames_in, counted.frames_in + 2);
}

#[test]
fn a_peering_closed_before_its_worker_attached_it_never_takes_its_port_from_the_next() {
    // Whichever of the two workers gets to its attach first.
    for stale_first in [true, false] {
        let config = ForwardConfig {
            workers: 2,
            ..ForwardConfig::default()
        };
        let mut fixture = Fixture::new(2);
        let fabric = Fabric::new(config, fixture.table());
        let mut first = fabric.worker(0).unwrap();
        let mut second = fabric.worker(1).unwrap();
        let port = fixture.ports[1];
        // The control plane puts a peering on the port for the first
        // worker, closes it before that worker attached it, and gives the
        // port to a new peering on the second worker.
        let stale = fabric.lease(port);
        fabric.unpublish(port);
        let next = fabric.lease(port);
        let attached = if stale_first {
            assert_eq!(first.attach(stale, EPOCH), None, "the closed peering");
            second.attach(next, EPOCH).expect("the new peering")
        } else {
            let slot = second.attach(next, EPOCH).expect("the new peering");
            assert_eq!(first.attach(stale, EPOCH), None, "the closed peering");
            slot
        };
        let location = fabric.ports().get(port).cloned().expect("published");
        assert_eq!((location.worker, location.slot), (1, attached));
        // Its frames are the port's.
        feed(&mut second, attached, &frames(2, 1).concat());
        second.process(EPOCH);
        let received: Vec<ControlFrame> = std::iter::from_fn(|| fabric.poll_control()).collect();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].port, port);
        // A lease is good for one attach only.
        assert_eq!(first.attach(next, EPOCH), None, "a lease used twice");
        assert_eq!(fabric.ports().get(port).map(|l| l.worker), Some(1));
    }
}
