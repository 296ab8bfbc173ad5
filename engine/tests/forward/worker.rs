//! One forwarding worker driven by hand: routing traffic between its
//! peerings, local delivery and sends, protocol frames to the control
//! plane (in order, with backpressure) and back out with priority, bounded
//! traffic lanes, and broken peerings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pinecone_engine::control::time::{PATH_EXPIRY, PATH_GRACE};
use pinecone_engine::control::{DropReason, Millis, Port, TrafficAction};
use pinecone_engine::forward::{
    DropCause, Fabric, ForwardConfig, LocalSendError, PeeringError, QueueDepth, SlotId, Worker,
};
use pinecone_engine::wire::{
    emit_keepalive, BootstrapRepr, Frame, ParseError, PublicKey, Watermark, MAX_FRAME_LEN,
};
use pinecone_netkit::fixture::{drain_output, feed, snek_traffic, split_frames, Fixture, EPOCH};
use pinecone_netkit::keys::signing_key;

/// A fixture with `peers` peerings, all on one worker.
struct Bench {
    fixture: Fixture,
    fabric: Arc<Fabric>,
    worker: Worker,
    slots: Vec<SlotId>,
}

impl Bench {
    fn new(peers: usize, config: ForwardConfig) -> Bench {
        let mut fixture = Fixture::new(peers);
        let (fabric, worker, slots) = Bench::start(&mut fixture, config);
        Bench {
            fixture,
            fabric,
            worker,
            slots,
        }
    }

    /// A fabric with one worker that has every peering of `fixture`.
    fn start(fixture: &mut Fixture, config: ForwardConfig) -> (Arc<Fabric>, Worker, Vec<SlotId>) {
        let fabric = Fabric::new(config, fixture.table());
        let mut worker = fabric.worker(0).expect("worker 0");
        let slots = fixture
            .ports
            .iter()
            .map(|&port| worker.attach(fabric.lease(port), EPOCH).expect("leased"))
            .collect();
        (fabric, worker, slots)
    }

    /// Starts again with `config`, keeping the routing table.
    fn restart(&mut self, config: ForwardConfig) {
        (self.fabric, self.worker, self.slots) = Bench::start(&mut self.fixture, config);
    }

    /// A path to a new key through peering `via`; returns the key and the
    /// path's watermark, with the new table published.
    fn path(&mut self, key_index: usize, via: usize) -> (PublicKey, Watermark) {
        let key = signing_key(2, key_index);
        let watermark = self.fixture.add_path(&key, self.fixture.ports[via]);
        self.fabric.publish_table(self.fixture.table());
        (PublicKey::of(&key), watermark)
    }

    fn src(&self) -> PublicKey {
        self.fixture.peer_key(0)
    }

    fn out(&mut self, peer: usize) -> Vec<Vec<u8>> {
        split_frames(&drain_output(&mut self.worker, self.slots[peer], EPOCH))
    }

    fn stats(&self, peer: usize) -> pinecone_engine::forward::PeeringStats {
        self.worker.counters(self.slots[peer]).unwrap().snapshot()
    }
}

fn bootstrap_frame(tag: u8) -> Vec<u8> {
    let repr = BootstrapRepr {
        hop_limit: 0,
        dest_key: PublicKey([tag; 32]),
        watermark: Watermark::FRESH,
        payload: &[tag; 8],
    };
    let mut out = vec![0; repr.encoded_len()];
    repr.emit(&mut out).unwrap();
    out
}

fn keepalive() -> Vec<u8> {
    let mut out = vec![0; 10];
    emit_keepalive(&mut out).unwrap();
    out
}

fn traffic_view(frame: &[u8]) -> (PublicKey, Option<Watermark>, Vec<u8>) {
    let Ok(Frame::Traffic(f)) = Frame::parse(frame) else {
        panic!("not a traffic frame");
    };
    (f.dest_key(), f.wire_watermark(), f.payload().to_vec())
}

#[test]
fn snek_traffic_goes_to_the_peering_its_path_came_from() {
    let mut b = Bench::new(4, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let (k2, w2) = b.path(2, 2);
    let frames = [
        snek_traffic(k1, b.src(), Watermark::FRESH, b"one"),
        snek_traffic(k2, b.src(), Watermark::FRESH, b"two"),
        snek_traffic(k1, b.src(), w1, b"three"),
    ];
    let stream = frames.concat();
    feed(&mut b.worker, b.slots[3], &stream);
    b.worker.process(EPOCH);

    let to_k1: Vec<_> = b.out(1).iter().map(|f| traffic_view(f)).collect();
    assert_eq!(
        to_k1,
        vec![
            (k1, Some(w1), b"one".to_vec()),
            (k1, Some(w1), b"three".to_vec())
        ]
    );
    let to_k2: Vec<_> = b.out(2).iter().map(|f| traffic_view(f)).collect();
    assert_eq!(to_k2, vec![(k2, Some(w2), b"two".to_vec())]);
    assert!(b.out(0).is_empty());

    let input = b.stats(3);
    assert_eq!((input.frames_in, input.bytes_in), (3, stream.len() as u64));
    assert_eq!(b.stats(1).frames_out, 2);
    assert_eq!(b.stats(2).frames_out, 1);
    // A frame whose watermark already is the path's is forwarded byte for
    // byte.
    assert_eq!(input.drops.total(), 0);
}

#[test]
fn a_frame_split_across_reads_is_taken_once_whole() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let frame = snek_traffic(k1, b.src(), w1, &[9; 300]);
    feed(&mut b.worker, b.slots[2], &frame[..7]);
    b.worker.process(EPOCH);
    feed(&mut b.worker, b.slots[2], &frame[7..200]);
    b.worker.process(EPOCH);
    assert!(b.out(1).is_empty());
    assert_eq!(b.stats(2).frames_in, 0);
    feed(&mut b.worker, b.slots[2], &frame[200..]);
    b.worker.process(EPOCH);
    assert_eq!(b.out(1), vec![frame]);
}

#[test]
fn traffic_for_us_is_delivered_with_its_source_coordinates() {
    let mut b = Bench::new(2, ForwardConfig::default());
    let own = b.fixture.own_key();
    let frame = snek_traffic(own, b.src(), Watermark::FRESH, b"hello");
    feed(&mut b.worker, b.slots[1], &frame);
    b.worker.process(EPOCH);
    let delivery = b.fabric.poll_delivery().expect("a delivery");
    assert_eq!(delivery.source, b.src());
    assert_eq!(delivery.source_coords.ports(), &[4, 2]);
    assert_eq!(delivery.payload, b"hello");
    assert!(b.fabric.poll_delivery().is_none());
}

#[test]
fn a_full_delivery_queue_drops_and_counts() {
    let config = ForwardConfig {
        delivery_queue_len: 2,
        ..ForwardConfig::default()
    };
    let mut b = Bench::new(2, config);
    let own = b.fixture.own_key();
    let frame = snek_traffic(own, b.src(), Watermark::FRESH, b"x");
    feed(&mut b.worker, b.slots[1], &frame.repeat(5));
    b.worker.process(EPOCH);
    let delivered = std::iter::from_fn(|| b.fabric.poll_delivery()).count();
    assert_eq!(delivered, 2);
    assert_eq!(b.stats(1).drops.get(DropCause::DeliveryFull), 3);
}

#[test]
fn loops_and_unknown_frames_are_dropped_and_counted_and_the_peering_goes_on() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let mut unknown = keepalive();
    unknown[5] = 0x77;
    let good = snek_traffic(k1, b.src(), w1, b"ok");
    // Back where it came from: a loop.
    feed(&mut b.worker, b.slots[1], &good);
    feed(
        &mut b.worker,
        b.slots[2],
        &[unknown.clone(), good.clone()].concat(),
    );
    b.worker.process(EPOCH);
    assert_eq!(b.stats(1).drops.get(DropCause::Loop), 1);
    assert_eq!(b.stats(2).drops.get(DropCause::UnknownFrame), 1);
    assert_eq!(b.out(1), vec![good]);
    assert!(b.worker.take_broken().is_empty());
    assert!(b.fabric.poll_control().is_none());
}

#[test]
fn a_garbage_peering_is_broken_alone() {
    let mut b = Bench::new(4, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let good = snek_traffic(k1, b.src(), w1, b"fine");
    // A truncated traffic body behind a well-formed header.
    let mut malformed = snek_traffic(k1, b.src(), w1, b"fine");
    malformed.truncate(40);
    malformed[8..10].copy_from_slice(&40u16.to_be_bytes());

    feed(&mut b.worker, b.slots[2], b"GET / HTTP/1.1\r\n\r\n");
    feed(
        &mut b.worker,
        b.slots[3],
        &[good.clone(), malformed].concat(),
    );
    feed(&mut b.worker, b.slots[0], &good);
    b.worker.process(EPOCH);

    let mut broken = b.worker.take_broken();
    broken.sort_by_key(|p| p.port);
    assert_eq!(broken.len(), 2);
    assert_eq!(broken[0].slot, b.slots[2]);
    assert_eq!(
        broken[0].error,
        PeeringError::Framing(ParseError::BadMagic(*b"GET "))
    );
    assert_eq!(broken[1].slot, b.slots[3]);
    assert!(matches!(broken[1].error, PeeringError::MalformedFrame(_)));
    // The good frame before the bad one went through, as did the other
    // peering's.
    assert_eq!(b.out(1), vec![good.clone(), good.clone()]);
    assert!(!b.worker.wants_read(b.slots[2]));
    assert!(b.worker.read_buffer(b.slots[3]).is_empty());
    assert!(b.worker.wants_read(b.slots[0]));

    // The broken peerings stay broken; the others keep working.
    feed(&mut b.worker, b.slots[0], &good);
    b.worker.process(EPOCH);
    assert!(b.worker.take_broken().is_empty());
    assert_eq!(b.out(1), vec![good]);
    assert_eq!(b.worker.detach(b.slots[2]), Some(b.fixture.ports[2]));
    assert!(b.fabric.counters(b.fixture.ports[2]).is_none());
}

#[test]
fn protocol_frames_reach_the_control_queue_in_order() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let traffic = snek_traffic(k1, b.src(), w1, b"t");
    let on_2 = [
        bootstrap_frame(1),
        traffic.clone(),
        keepalive(),
        bootstrap_frame(2),
    ];
    let on_0 = [bootstrap_frame(3), bootstrap_frame(4)];
    feed(&mut b.worker, b.slots[2], &on_2.concat());
    feed(&mut b.worker, b.slots[0], &on_0.concat());
    b.worker.process(EPOCH);
    let received: Vec<(Port, Vec<u8>)> = std::iter::from_fn(|| b.fabric.poll_control())
        .map(|c| (c.port, c.frame))
        .collect();
    let (p0, p2) = (b.fixture.ports[0], b.fixture.ports[2]);
    let from = |port: Port| -> Vec<Vec<u8>> {
        received
            .iter()
            .filter(|(p, _)| *p == port)
            .map(|(_, f)| f.clone())
            .collect()
    };
    assert_eq!(
        from(p2),
        vec![on_2[0].clone(), on_2[2].clone(), on_2[3].clone()]
    );
    assert_eq!(from(p0), on_0.to_vec());
    assert_eq!(received.len(), 5);
    assert_eq!(b.out(1), vec![traffic]);
}

#[test]
fn a_full_control_queue_stops_reading_that_peering_only() {
    let config = ForwardConfig {
        control_queue_len: 2,
        ..ForwardConfig::default()
    };
    let mut b = Bench::new(3, config);
    let wakes = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&wakes);
    assert!(b.fabric.doorbell(0).unwrap().install(move || {
        seen.fetch_add(1, Ordering::Relaxed);
    }));
    let (k1, w1) = b.path(1, 1);
    let traffic = snek_traffic(k1, b.src(), w1, b"after");
    let protocol: Vec<Vec<u8>> = (10..15).map(bootstrap_frame).collect();
    feed(
        &mut b.worker,
        b.slots[2],
        &[protocol.concat(), traffic.clone()].concat(),
    );
    let other = snek_traffic(k1, b.src(), w1, b"other");
    feed(&mut b.worker, b.slots[0], &other);
    b.worker.process(EPOCH);

    // The other peering flows; the blocked one waits, unread.
    assert_eq!(b.out(1), vec![other]);
    assert!(!b.worker.wants_read(b.slots[2]));
    assert!(b.worker.wants_read(b.slots[0]));
    let mut received = Vec::new();
    let mut rounds = 0;
    while received.len() < protocol.len() {
        rounds += 1;
        assert!(rounds < 10, "backpressure never released");
        let blocked = !b.worker.wants_read(b.slots[2]);
        let before = wakes.load(Ordering::Relaxed);
        received.extend(std::iter::from_fn(|| b.fabric.poll_control()).map(|c| c.frame));
        let woken = wakes.load(Ordering::Relaxed) > before;
        assert_eq!(woken, blocked, "a blocked worker, and only it, is woken");
        b.worker.process(EPOCH);
    }
    assert_eq!(received, protocol);
    assert_eq!(b.out(1), vec![traffic]);
    assert!(b.worker.wants_read(b.slots[2]));
    assert_eq!(b.stats(2).drops.total(), 0);
    assert_eq!(b.stats(2).frames_in, 6);
}

#[test]
fn protocol_frames_go_out_before_queued_traffic() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let traffic = snek_traffic(k1, b.src(), w1, &[1; 100]);
    feed(&mut b.worker, b.slots[2], &traffic.repeat(2));
    b.worker.process(EPOCH);
    // The driver writes half of the first traffic frame, then the control
    // plane sends two frames.
    let slot = b.slots[1];
    assert_eq!(b.worker.written(slot, 50, EPOCH), 2 * traffic.len() - 50);
    b.fabric
        .send_protocol(b.fixture.ports[1], bootstrap_frame(1))
        .unwrap();
    b.fabric
        .send_protocol(b.fixture.ports[1], keepalive())
        .unwrap();
    b.worker.process(EPOCH);
    let mut writable = Vec::new();
    b.worker.take_writable(&mut writable);
    assert_eq!(writable, vec![slot]);
    let stream = drain_output(&mut b.worker, slot, EPOCH);
    let expected = [
        &traffic[50..],
        &bootstrap_frame(1),
        &keepalive(),
        &traffic[..],
    ]
    .concat();
    assert_eq!(stream, expected);
    assert_eq!(
        b.fabric.send_protocol(99, keepalive()),
        Err(pinecone_engine::forward::ProtocolSendError::UnknownPort)
    );
}

#[test]
fn a_full_traffic_lane_drops_only_that_peerings_traffic() {
    let mut b = Bench::new(4, ForwardConfig::default());
    let (slow, ws) = b.path(1, 1);
    let (fast, wf) = b.path(2, 2);
    let frame_len = snek_traffic(slow, b.src(), ws, &[0; 200]).len();
    let config = ForwardConfig {
        traffic_lane_len: 4 * frame_len + 10,
        ..ForwardConfig::default()
    };
    b.restart(config);
    let mut fast_frames = 0;
    for round in 0..10u8 {
        let to_slow = snek_traffic(slow, b.src(), ws, &[round; 200]);
        let to_fast = snek_traffic(fast, b.src(), wf, &[round; 200]);
        feed(
            &mut b.worker,
            b.slots[3],
            &[to_slow.clone(), to_fast.clone()].concat().repeat(2),
        );
        b.worker.process(EPOCH);
        // Only the fast peer reads.
        fast_frames += b.out(2).len();
    }
    assert_eq!(fast_frames, 20);
    assert_eq!(b.stats(2).drops.total(), 0);
    let slow_stats = b.stats(1);
    assert_eq!(slow_stats.frames_out, 4);
    assert_eq!(slow_stats.drops.get(DropCause::OutputFull), 16);
    // Once the slow peer reads, it gets the four oldest frames.
    let queued = b.out(1);
    assert_eq!(queued.len(), 4);
    assert_eq!(traffic_view(&queued[3]).2, vec![1; 200]);
}

#[test]
fn a_peering_that_does_not_read_protocol_frames_is_broken() {
    let mut b = Bench::new(2, ForwardConfig::default());
    let big = {
        let payload = vec![5; 30_000];
        let repr = BootstrapRepr {
            hop_limit: 0,
            dest_key: PublicKey([5; 32]),
            watermark: Watermark::FRESH,
            payload: &payload,
        };
        let mut out = vec![0; repr.encoded_len()];
        repr.emit(&mut out).unwrap();
        out
    };
    let port = b.fixture.ports[1];
    let bound = b.fabric.config().protocol_lane_len;
    assert_eq!(bound, ForwardConfig::default().protocol_lane_len);
    let fits = bound / big.len();
    for _ in 0..=fits {
        b.fabric.send_protocol(port, big.clone()).unwrap();
    }
    b.worker.process(EPOCH);
    let broken = b.worker.take_broken();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].port, port);
    assert_eq!(
        broken[0].error,
        PeeringError::ProtocolBacklog {
            queued: fits * big.len()
        }
    );
    assert!(big.len() < MAX_FRAME_LEN);
}

#[test]
fn local_sends_are_routed_like_received_traffic() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let own = b.fixture.own_key();
    let now = Millis(EPOCH.0 + 5);
    b.fabric
        .send_local(&snek_traffic(k1, own, Watermark::FRESH, b"out"), now)
        .unwrap();
    b.worker.process(now);
    let sent: Vec<_> = b.out(1).iter().map(|f| traffic_view(f)).collect();
    assert_eq!(sent, vec![(k1, Some(w1), b"out".to_vec())]);

    b.fabric
        .send_local(&snek_traffic(own, own, Watermark::FRESH, b"me"), now)
        .unwrap();
    assert_eq!(
        b.fabric.poll_delivery().map(|d| d.payload),
        Some(b"me".to_vec())
    );
    assert_eq!(
        b.fabric.send_local(&keepalive(), now),
        Err(LocalSendError::NotTraffic)
    );
    assert!(matches!(
        b.fabric.send_local(b"pine", now),
        Err(LocalSendError::Malformed(_))
    ));
}

#[test]
fn frames_queued_for_a_detached_peering_never_reach_its_successor() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let port = b.fixture.ports[1];
    b.fabric.send_protocol(port, keepalive()).unwrap();
    let old = b.slots[1];
    b.worker.detach(old);
    let new = b
        .worker
        .attach(b.fabric.lease(port), EPOCH)
        .expect("leased");
    assert_eq!(new.index, old.index);
    assert_ne!(new, old);
    b.worker.process(EPOCH);
    assert!(b.worker.output(new).is_empty());
    assert!(b.worker.output(old).is_empty());
    assert_eq!(b.fabric.ports().get(port).map(|l| l.slot), Some(new));
}

#[test]
fn activity_timestamps_follow_reads_and_writes() {
    let mut b = Bench::new(3, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let counters = b.fabric.counters(b.fixture.ports[2]).unwrap();
    assert_eq!(counters.last_received(), EPOCH);
    let later = Millis(EPOCH.0 + 1_500);
    let frame = snek_traffic(k1, b.src(), w1, b"x");
    feed(&mut b.worker, b.slots[2], &frame);
    b.worker.process(later);
    assert_eq!(counters.last_received(), later);
    let out = b.fabric.counters(b.fixture.ports[1]).unwrap();
    assert_eq!(out.last_sent(), EPOCH);
    let written = Millis(EPOCH.0 + 2_000);
    let bytes = b.worker.output(b.slots[1]).len();
    b.worker.written(b.slots[1], bytes, written);
    assert_eq!(out.last_sent(), written);
    assert_eq!(out.snapshot().bytes_written, bytes as u64);
}

#[test]
fn every_frame_goes_where_the_routing_table_says_cached_or_not() {
    let mut b = Bench::new(5, ForwardConfig::default());
    let paths: Vec<(PublicKey, Watermark)> = (0..4).map(|i| b.path(10 + i, i % 5)).collect();
    let table = b.fixture.table();
    let mut dests: Vec<PublicKey> = paths.iter().map(|p| p.0).collect();
    dests.push(PublicKey([0x42; 32]));
    dests.push(PublicKey([0x01; 32]));
    let mut watermarks = vec![
        Watermark::FRESH,
        Watermark {
            key: PublicKey([0; 32]),
            seq: 1,
        },
    ];
    watermarks.extend(paths.iter().map(|p| p.1));
    let now = Millis(EPOCH.0 + 10);
    let mut seen = std::collections::HashSet::new();
    // Twice: the second pass finds every answer in the route cache.
    for _ in 0..2 {
        for &dest in &dests {
            for &watermark in &watermarks {
                for from in 0..b.slots.len() {
                    let frame = snek_traffic(dest, b.src(), watermark, b"?");
                    let Ok(Frame::Traffic(view)) = Frame::parse(&frame) else {
                        unreachable!()
                    };
                    let expected = table.route_traffic(&view, b.fixture.ports[from], now);
                    let drops_before = b.stats(from).drops;
                    feed(&mut b.worker, b.slots[from], &frame);
                    b.worker.process(now);
                    let outputs: Vec<(usize, Vec<Vec<u8>>)> = (0..b.slots.len())
                        .map(|peer| {
                            let out =
                                split_frames(&drain_output(&mut b.worker, b.slots[peer], now));
                            (peer, out)
                        })
                        .filter(|(_, out)| !out.is_empty())
                        .collect();
                    let drops_after = b.stats(from).drops;
                    seen.insert(match expected {
                        TrafficAction::Drop(reason) => Some(reason),
                        _ => None,
                    });
                    match expected {
                        TrafficAction::Forward(forwarding) => {
                            let to = b
                                .fixture
                                .ports
                                .iter()
                                .position(|&p| p == forwarding.port)
                                .unwrap();
                            let bytes = forwarding.to_vec(&view, &frame).unwrap();
                            assert_eq!(outputs, vec![(to, vec![bytes])]);
                            assert_eq!(drops_after, drops_before);
                        }
                        TrafficAction::Drop(reason) => {
                            assert!(outputs.is_empty());
                            let cause = DropCause::from(reason);
                            assert_eq!(drops_after.get(cause), drops_before.get(cause) + 1);
                            assert_eq!(drops_after.total(), drops_before.total() + 1);
                        }
                        TrafficAction::Deliver => unreachable!("no frame is for us"),
                    }
                }
            }
        }
    }
    // Forwardings and every kind of drop a SNEK frame can meet were
    // exercised.
    let kinds = [
        None,
        Some(DropReason::Loop),
        Some(DropReason::Watermark),
        Some(DropReason::Unroutable),
    ];
    assert!(kinds.iter().all(|k| seen.contains(k)), "{seen:?}");
}

#[test]
fn a_flow_follows_its_path_until_the_path_expires_in_the_same_snapshot() {
    let mut b = Bench::new(4, ForwardConfig::default());
    let (key, watermark) = b.path(1, 1);
    let table = b.fixture.table();
    let last_seen = table.path(&key).expect("the path").last_seen;
    let fresh = snek_traffic(key, b.src(), Watermark::FRESH, b"fresh");
    let on_path = snek_traffic(key, b.src(), watermark, b"on the path");
    // Where each frame goes at `now`: the peerings it came out of.
    let mut send = |frame: &[u8], now: Millis| -> Vec<usize> {
        feed(&mut b.worker, b.slots[3], frame);
        b.worker.process(now);
        (0..b.slots.len())
            .filter(|&peer| !drain_output(&mut b.worker, b.slots[peer], now).is_empty())
            .collect()
    };
    let expiry = last_seen.saturating_add(PATH_EXPIRY);
    let gone = expiry.saturating_add(PATH_GRACE);
    // Where the table sends each frame at `now`.
    let ports = b.fixture.ports.clone();
    let expected = |frame: &[u8], now: Millis| -> Vec<usize> {
        let Ok(Frame::Traffic(view)) = Frame::parse(frame) else {
            unreachable!()
        };
        match table.route_traffic(&view, ports[3], now) {
            TrafficAction::Forward(f) => ports
                .iter()
                .position(|&p| p == f.port)
                .into_iter()
                .collect(),
            TrafficAction::Deliver | TrafficAction::Drop(_) => Vec::new(),
        }
    };
    let before = Millis(expiry.0 - 1);
    assert_eq!(expected(&fresh, before), vec![1]);
    assert_ne!(expected(&fresh, expiry), vec![1], "the path expired");
    assert_eq!(expected(&on_path, expiry), vec![1], "in its grace");
    assert_ne!(expected(&on_path, gone), vec![1], "the path is gone");
    // Each frame several times (the route cache, then the flow's memo) at
    // each instant, with no new snapshot in between.
    for now in [last_seen, before, expiry, gone] {
        for frame in [&fresh, &on_path] {
            for _ in 0..3 {
                assert_eq!(send(frame, now), expected(frame, now), "at {now:?}");
            }
        }
    }
}

#[test]
fn a_local_burst_larger_than_the_lane_waits_for_room_in_order() {
    let lane = 4096;
    let mut b = Bench::new(
        3,
        ForwardConfig {
            traffic_lane_len: lane,
            ..ForwardConfig::default()
        },
    );
    let (k1, _) = b.path(1, 1);
    let own = b.fixture.own_key();
    let now = Millis(EPOCH.0 + 5);
    // About five lanes' worth: one lane fits, one is held, the rest
    // waits in the queue.
    let payloads: Vec<Vec<u8>> = (0..60u8).map(|i| vec![i; 200]).collect();
    for payload in &payloads {
        b.fabric
            .send_local(&snek_traffic(k1, own, Watermark::FRESH, payload), now)
            .unwrap();
    }
    let mut sent = Vec::new();
    for _ in 0..payloads.len() {
        b.worker.process(now);
        sent.extend(b.out(1).iter().map(|f| traffic_view(f).2));
        if sent.len() == payloads.len() {
            break;
        }
    }
    assert_eq!(sent, payloads);
    assert_eq!(b.stats(1).drops.total(), 0);
}

#[test]
fn the_fabric_sums_every_peering_and_keeps_the_counts_of_detached_ones() {
    let mut b = Bench::new(4, ForwardConfig::default());
    let (k1, w1) = b.path(1, 1);
    let (k2, w2) = b.path(2, 2);
    let frames = [
        snek_traffic(k1, b.src(), w1, b"one"),
        snek_traffic(k2, b.src(), w2, b"two"),
        snek_traffic(k1, b.src(), w1, b"three"),
    ];
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    feed(&mut b.worker, b.slots[3], &frames.concat());
    b.fabric
        .send_protocol(b.fixture.ports[2], keepalive())
        .unwrap();
    b.worker.process(EPOCH);

    let stats = b.fabric.stats();
    assert_eq!((stats.frames_in, stats.bytes_in), (3, bytes));
    assert_eq!((stats.forwarded_frames, stats.forwarded_bytes), (3, bytes));
    assert_eq!(stats.protocol_frames_out, 1);
    assert_eq!(stats.traffic_queue, QueueDepth { frames: 3, bytes });
    assert_eq!(
        stats.protocol_queue,
        QueueDepth {
            frames: 1,
            bytes: keepalive().len() as u64
        }
    );

    // Peering 1 reads its two frames, then goes; its counts stay.
    assert_eq!(b.out(1).len(), 2);
    let stats = b.fabric.stats();
    assert_eq!(stats.traffic_queue.frames, 1);
    b.worker.detach(b.slots[1]);
    let stats = b.fabric.stats();
    assert_eq!((stats.forwarded_frames, stats.forwarded_bytes), (3, bytes));
    assert_eq!(stats.traffic_queue.frames, 1, "peering 2's frame waits");
    assert_eq!(stats.protocol_queue.frames, 1);
    assert_eq!(b.out(2).len(), 2);
    let stats = b.fabric.stats();
    assert_eq!(stats.traffic_queue, QueueDepth::default());
    assert_eq!(stats.protocol_queue, QueueDepth::default());
    assert_eq!(stats.bytes_written, bytes + keepalive().len() as u64);

    // A local send is not transit; a frame to a vanished peering is a drop.
    let own = b.fixture.own_key();
    b.fabric
        .send_local(&snek_traffic(k2, own, Watermark::FRESH, b"out"), EPOCH)
        .unwrap();
    b.worker.process(EPOCH);
    let gone = snek_traffic(k1, b.src(), w1, b"gone");
    feed(&mut b.worker, b.slots[3], &gone);
    b.worker.process(EPOCH);
    let stats = b.fabric.stats();
    assert_eq!(stats.forwarded_frames, 3);
    assert_eq!(stats.local_frames_out, 1);
    assert_eq!(stats.frames_in, 4);
    assert_eq!(stats.drops.total(), 1);
}
