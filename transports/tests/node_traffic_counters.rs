//! The state dump and the stats count the traffic a node's forwarding
//! workers move: a node in the middle of a line reports the datagrams it
//! carried in the traffic byte counters of both its peerings, in its
//! stats as transit traffic (kept once a peering closes), and in the
//! queue fields of its dump.

mod node_support;

use std::time::Duration;

use node_support::{eventually, peer_count, reaches, shape, Medium, CONVERGENCE};
use pinecone_engine::forward::DropCause;
use pinecone_transports::Node;
use serde_json::Value;

/// Traffic bytes received and sent on each peering of `node`, by peer key.
fn traffic_bytes(node: &Node) -> Vec<(String, u64, u64)> {
    let dump: Value = serde_json::from_str(&node.state_dump_json().expect("dump")).expect("json");
    let mut out = Vec::new();
    for (key, peerings) in dump["peers"].as_object().expect("peers") {
        for peering in peerings.as_array().expect("peerings") {
            let field = |name: &str| peering[name].as_u64().expect(name);
            out.push((
                key.clone(),
                field("rx_traffic_bytes"),
                field("tx_traffic_bytes"),
            ));
        }
    }
    out
}

/// The counters of the peering with `peer` in `counts`.
fn of(counts: &[(String, u64, u64)], peer: &Node) -> (u64, u64) {
    let key = peer.public_key().to_string();
    counts
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, rx, tx)| (*rx, *tx))
        .expect("a peering with that node")
}

on_both_drivers! {

fn a_transit_node_counts_the_traffic_it_forwards(io) {
    let nodes = shape(150, 3, Medium::Tcp, false, io);
    let (first, middle, last) = (&nodes[0], &nodes[1], &nodes[2]);
    assert!(eventually(CONVERGENCE, || peer_count(middle) == 2));
    assert!(reaches(first, last, CONVERGENCE));
    let before = traffic_bytes(middle);
    let payload = vec![0x5a; 1000];
    let sent = 20;
    for _ in 0..sent {
        first.send(last.public_key(), &payload).expect("send");
    }
    let mut received = 0;
    while received < sent {
        match last.recv_timeout(Duration::from_secs(5)) {
            Some(datagram) if datagram.payload == payload => received += 1,
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(received, sent);
    // Every datagram came in from the first node and went out to the last
    // one, each frame a little longer than its payload.
    let carried = (sent * payload.len()) as u64;
    assert!(eventually(Duration::from_secs(5), || {
        let after = traffic_bytes(middle);
        let (rx0, _) = of(&before, first);
        let (rx1, _) = of(&after, first);
        let (_, tx0) = of(&before, last);
        let (_, tx1) = of(&after, last);
        rx1 - rx0 >= carried && tx1 - tx0 >= carried
    }));
}

fn the_stats_count_transit_traffic_protocol_frames_and_handshakes(io) {
    let nodes = shape(160, 3, Medium::Tcp, false, io);
    let (first, middle, last) = (&nodes[0], &nodes[1], &nodes[2]);
    assert!(eventually(CONVERGENCE, || peer_count(middle) == 2));
    assert!(reaches(first, last, CONVERGENCE));
    let before = middle.stats().expect("stats");
    assert_eq!(before.peerings.remote, 2);
    assert_eq!(before.peerings.pipe, 0);
    assert!(before.handshakes.completed >= 2);
    assert!(before.peerings_accepted >= 2);
    assert!(before.router.frames_received.tree_announcement >= 2);
    assert!(before.router.frames_sent.tree_announcement >= 2);
    assert!(before.router.signatures.announcement_checks >= 1);
    assert!(before.router.parent_changes + u64::from(before.tree.is_root) >= 1);

    let payload = vec![0x6b; 700];
    let sent = 30;
    for _ in 0..sent {
        first.send(last.public_key(), &payload).expect("send");
    }
    let mut received = 0;
    while received < sent {
        match last.recv_timeout(Duration::from_secs(5)) {
            Some(datagram) if datagram.payload == payload => received += 1,
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(received, sent);
    let carried = (sent * payload.len()) as u64;
    assert!(eventually(Duration::from_secs(5), || {
        let after = middle.stats().expect("stats");
        after.forwarding.forwarded_frames - before.forwarding.forwarded_frames >= sent as u64
            && after.forwarding.forwarded_bytes - before.forwarding.forwarded_bytes >= carried
    }));
    let after = middle.stats().expect("stats");
    assert_eq!(after.forwarding.local_frames_out, before.forwarding.local_frames_out);
    assert!(after.forwarding.bytes_written >= before.forwarding.bytes_written + carried);

    // The dump's queue fields: the peering toward the last node took every
    // frame offered to it.
    let dump: Value = serde_json::from_str(&middle.state_dump_json().expect("dump")).expect("json");
    let toward_last = &dump["peers"][last.public_key().to_string()][0];
    let traffic = &toward_last["traffic_queue"];
    assert!(traffic["packets_total"].as_u64().expect("packets_total") >= sent as u64);
    assert_eq!(traffic["packets_dropped"].as_u64(), Some(0));
    assert!(traffic["size"].as_u64().expect("size") > 0);
    assert!(traffic["queues"].is_object());
    assert!(toward_last["proto_queue"]["size"].as_u64().expect("size") > 0);

    // Closing the peering keeps what it counted.
    let port = toward_last["port"].as_u64().expect("port");
    assert!(middle.disconnect(port).expect("disconnect"));
    let closed = middle.stats().expect("stats");
    assert!(closed.forwarding.forwarded_frames >= after.forwarding.forwarded_frames);
    assert!(closed.forwarding.forwarded_bytes >= after.forwarding.forwarded_bytes);
    assert!(closed.forwarding.drops.get(DropCause::OutputFull) >= after.forwarding.drops.get(DropCause::OutputFull));
}

}
