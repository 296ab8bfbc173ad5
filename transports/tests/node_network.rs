//! Networks of nodes on loopback converge and carry datagrams across
//! several hops, over TCP and WebSocket.

mod node_support;

use node_support::{all_reach_all, eventually, peer_count, reaches, shape, Medium, CONVERGENCE};

on_both_drivers! {

fn a_tcp_line_of_four_carries_traffic_end_to_end(io) {
    let nodes = shape(10, 4, Medium::Tcp, false, io);
    // The ends have one peer each, so traffic between them crosses both
    // middle nodes.
    assert!(eventually(CONVERGENCE, || {
        peer_count(&nodes[0]) == 1 && peer_count(&nodes[3]) == 1
    }));
    assert!(reaches(&nodes[0], &nodes[3], CONVERGENCE));
    assert!(reaches(&nodes[3], &nodes[0], CONVERGENCE));
    assert!(all_reach_all(&nodes, CONVERGENCE));
    // Everyone agrees on one root: the same root key in every dump.
    let roots: Vec<String> = nodes
        .iter()
        .map(|n| {
            let dump: serde_json::Value =
                serde_json::from_str(&n.state_dump_json().expect("dump")).expect("json");
            dump["root"]["root_public_key"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(
        roots.iter().all(|r| !r.is_empty() && *r == roots[0]),
        "{roots:?}"
    );
}

fn a_websocket_line_of_three_carries_traffic_end_to_end(io) {
    let nodes = shape(20, 3, Medium::WebSocket, false, io);
    assert!(eventually(CONVERGENCE, || peer_count(&nodes[0]) == 1
        && peer_count(&nodes[2]) == 1));
    assert!(all_reach_all(&nodes, CONVERGENCE));
}

fn a_tcp_ring_reroutes_around_a_node_that_goes(io) {
    let mut nodes = shape(30, 5, Medium::Tcp, true, io);
    assert!(eventually(CONVERGENCE, || nodes
        .iter()
        .all(|n| peer_count(n) == 2)));
    assert!(all_reach_all(&nodes, CONVERGENCE));
    // Take out a middle node: its two neighbours each lose a peering, and
    // traffic between them goes the long way round.
    let gone = nodes.remove(2);
    gone.shutdown();
    assert!(eventually(CONVERGENCE, || peer_count(&nodes[1]) == 1
        && peer_count(&nodes[2]) == 1));
    assert!(all_reach_all(&nodes, CONVERGENCE));
}

fn a_websocket_ring_converges(io) {
    let nodes = shape(40, 4, Medium::WebSocket, true, io);
    assert!(eventually(CONVERGENCE, || nodes
        .iter()
        .all(|n| peer_count(n) == 2)));
    assert!(all_reach_all(&nodes, CONVERGENCE));
}

fn a_burst_of_datagrams_crosses_two_hops_intact(io) {
    let nodes = shape(50, 3, Medium::Tcp, false, io);
    assert!(eventually(CONVERGENCE, || peer_count(&nodes[0]) == 1
        && peer_count(&nodes[2]) == 1));
    assert!(reaches(&nodes[0], &nodes[2], CONVERGENCE));
    let (from, to) = (&nodes[0], &nodes[2]);
    let count = 500u32;
    for i in 0..count {
        let mut payload = i.to_be_bytes().to_vec();
        payload.resize(1024, (i % 251) as u8);
        from.send(to.public_key(), &payload).expect("send");
    }
    let mut seen = vec![false; count as usize];
    while let Some(datagram) = to.recv_timeout(std::time::Duration::from_secs(5)) {
        let Some(index) = datagram
            .payload
            .get(..4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("four bytes")) as usize)
        else {
            continue;
        };
        if datagram.source == from.public_key() && index < seen.len() {
            assert_eq!(datagram.payload.len(), 1024);
            assert!(datagram.payload[4..]
                .iter()
                .all(|&b| b == (index % 251) as u8));
            seen[index] = true;
        }
        if seen.iter().all(|&s| s) {
            break;
        }
    }
    let missing = seen.iter().filter(|&&s| !s).count();
    assert_eq!(missing, 0, "{missing} of {count} datagrams lost");
}
}
