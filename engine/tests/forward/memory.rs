//! What peerings hold in memory: an input buffer only while bytes wait to
//! be taken as frames, a traffic lane only while traffic waits to be
//! written, and emptied ones go back to a bounded set of spares per worker.

use std::sync::Arc;

use pinecone_engine::control::{Router, RouterConfig};
use pinecone_engine::forward::{BufferCounts, Fabric, ForwardConfig, SlotId, Worker};
use pinecone_engine::wire::{emit_keepalive, PublicKey};
use pinecone_netkit::fixture::{drain_output, feed, snek_traffic, Fixture, EPOCH};
use pinecone_netkit::keys::signing_key;

fn keepalive() -> Vec<u8> {
    let mut out = vec![0; 10];
    emit_keepalive(&mut out).unwrap();
    out
}

/// A worker with `peerings` peerings on ports 1, 2, …, routing by the
/// table of a router with no peers.
fn worker_with(peerings: u64, config: ForwardConfig) -> (Arc<Fabric>, Worker, Vec<SlotId>) {
    let mut router = Router::new(signing_key(9, 0), RouterConfig::default(), EPOCH);
    let fabric = Fabric::new(config, router.routing_table());
    let mut worker = fabric.worker(0).unwrap();
    let slots = (1..=peerings)
        .map(|port| worker.attach(fabric.lease(port), EPOCH).expect("leased"))
        .collect();
    (fabric, worker, slots)
}

#[test]
fn a_thousand_idle_peerings_hold_no_buffers() {
    let (fabric, mut worker, slots) = worker_with(1_000, ForwardConfig::default());
    let keepalive = keepalive();
    for &slot in &slots {
        feed(&mut worker, slot, &keepalive);
        // Each is also sent a protocol frame, written out at once.
        let port = worker.port(slot).unwrap();
        fabric.send_protocol(port, keepalive.clone()).unwrap();
    }
    assert_eq!(worker.buffers().input, 1_000, "bytes wait in each");
    worker.process(EPOCH);
    let mut writable = Vec::new();
    worker.take_writable(&mut writable);
    assert_eq!(writable.len(), 1_000);
    for slot in writable {
        assert_eq!(drain_output(&mut worker, slot, EPOCH), keepalive);
    }
    let received = std::iter::from_fn(|| fabric.poll_control()).count();
    assert_eq!(received, 1_000);
    // None is held; the round's thousand are spares until two quiet
    // rounds have passed.
    let held = worker.buffers();
    assert_eq!((held.input, held.traffic), (0, 0));
    assert_eq!(held.spare_input, 1_000);
    worker.process(EPOCH);
    worker.process(EPOCH);
    let spares = ForwardConfig::default().spare_buffers;
    assert_eq!(
        worker.buffers(),
        BufferCounts {
            input: 0,
            traffic: 0,
            spare_input: spares,
            spare_traffic: 0,
        }
    );
    // A read that brings nothing gives the buffer straight back.
    assert!(!worker.read_buffer(slots[0]).is_empty());
    assert_eq!(worker.buffers().input, 1);
    worker.filled(slots[0], 0);
    assert_eq!(worker.buffers().input, 0);
}

#[test]
fn a_partial_frame_keeps_its_buffer_and_traffic_keeps_its_lane_until_written() {
    let mut fixture = Fixture::new(3);
    let config = ForwardConfig {
        spare_buffers: 1,
        ..ForwardConfig::default()
    };
    let fabric = Fabric::new(config, fixture.table());
    let mut worker = fabric.worker(0).unwrap();
    let slots: Vec<SlotId> = fixture
        .ports
        .iter()
        .map(|&port| worker.attach(fabric.lease(port), EPOCH).expect("leased"))
        .collect();
    let key = signing_key(2, 1);
    let watermark = fixture.add_path(&key, fixture.ports[1]);
    fabric.publish_table(fixture.table());
    let frame = snek_traffic(
        PublicKey::of(&key),
        fixture.peer_key(0),
        watermark,
        b"payload",
    );
    // The first frame whole, and part of the next.
    let split = frame.len() + 5;
    let stream = [frame.clone(), frame.clone()].concat();
    feed(&mut worker, slots[2], &stream[..split]);
    worker.process(EPOCH);
    let held = worker.buffers();
    assert_eq!((held.input, held.traffic), (1, 1));
    // The rest of it; then the driver writes the lane out.
    feed(&mut worker, slots[2], &stream[split..]);
    worker.process(EPOCH);
    assert_eq!(worker.buffers().input, 0);
    assert_eq!(worker.buffers().traffic, 1);
    let written = drain_output(&mut worker, slots[1], EPOCH);
    assert_eq!(written, stream);
    assert_eq!(
        worker.buffers(),
        BufferCounts {
            input: 0,
            traffic: 0,
            spare_input: 1,
            spare_traffic: 1,
        }
    );
    // Detaching a peering that holds buffers gives them back (within the
    // spares' bound).
    feed(&mut worker, slots[2], &stream[..split]);
    worker.process(EPOCH);
    assert_eq!(worker.buffers().input, 1);
    worker.detach(slots[2]);
    worker.detach(slots[1]);
    assert_eq!(
        worker.buffers(),
        BufferCounts {
            input: 0,
            traffic: 0,
            spare_input: 1,
            spare_traffic: 1,
        }
    );
}
