//! Helpers shared by the node tests: starting nodes, wiring them into
//! shapes and checking that datagrams get through.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pinecone_engine::forward::ForwardConfig;
use pinecone_transports::{IoDriver, Node, NodeConfig};

#[path = "io_switch.rs"]
mod io_switch;
// Each test crate uses its share of the helpers.
#[allow(unused_imports)]
pub use io_switch::{test_io, test_io_flag};

/// How long a network of a few nodes gets to converge.
pub const CONVERGENCE: Duration = Duration::from_secs(30);

/// The default settings with the I/O driver the environment asks for
/// ([`test_io`]).
pub fn test_config() -> NodeConfig {
    NodeConfig {
        io: test_io(),
        ..NodeConfig::default()
    }
}

/// A node with a distinct key per `seed`, two forwarding workers and the
/// I/O driver the environment asks for ([`test_io`]).
pub fn node(seed: u8) -> Node {
    node_with(seed, test_config())
}

/// A node with a distinct key per `seed`, two forwarding workers and the
/// I/O driver `io`.
pub fn node_on(seed: u8, io: IoDriver) -> Node {
    node_with(
        seed,
        NodeConfig {
            io,
            ..NodeConfig::default()
        },
    )
}

/// Runs a test body once with each I/O driver, as two tests.
#[macro_export]
macro_rules! on_both_drivers {
    ($(fn $name:ident($io:ident) $body:block)*) => {$(
        mod $name {
            use super::*;

            fn body($io: pinecone_transports::IoDriver) $body

            #[test]
            fn uring() {
                body(pinecone_transports::IoDriver::Uring);
            }

            #[test]
            fn epoll() {
                body(pinecone_transports::IoDriver::Epoll);
            }
        }
    )*};
}

/// A node with a distinct key per `seed` and the given settings (two
/// workers unless they say otherwise).
pub fn node_with(seed: u8, mut config: NodeConfig) -> Node {
    if config.forward.workers == 0 || config.forward == ForwardConfig::default() {
        config.forward.workers = 2;
    }
    Node::start([seed; 32], config).expect("node starts")
}

/// How the nodes of a test peer with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Plain TCP.
    Tcp,
    /// WebSocket over plain HTTP.
    WebSocket,
}

/// Makes `node` listen on a loopback port over `medium`; returns the URI
/// to dial it at.
pub fn listen(node: &Node, medium: Medium) -> String {
    let address: SocketAddr = match medium {
        Medium::Tcp => node.listen_tcp("127.0.0.1:0").expect("listen tcp"),
        Medium::WebSocket => node.listen_ws("127.0.0.1:0", false).expect("listen ws"),
    };
    match medium {
        Medium::Tcp => format!("tcp://{address}"),
        Medium::WebSocket => format!("ws://{address}"),
    }
}

/// Starts `count` nodes where node `i` dials node `i - 1` (a line), and
/// with `ring` the first also dials the last.
pub fn shape(first_seed: u8, count: usize, medium: Medium, ring: bool, io: IoDriver) -> Vec<Node> {
    let nodes: Vec<Node> = (0..count)
        .map(|i| node_on(first_seed + i as u8, io))
        .collect();
    let uris: Vec<String> = nodes.iter().map(|n| listen(n, medium)).collect();
    for i in 1..count {
        nodes[i].connect(&uris[i - 1]).expect("connect");
    }
    if ring && count > 2 {
        nodes[0].connect(&uris[count - 1]).expect("connect");
    }
    nodes
}

/// Polls `check` until it holds or `within` passes; returns whether it
/// held.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends datagrams from `from` to `to` until one arrives intact (the
/// network may still be converging), within `within`.
pub fn reaches(from: &Node, to: &Node, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let tag = format!("{} -> {}", from.public_key(), to.public_key()).into_bytes();
    while Instant::now() < deadline {
        // Sending fails while no route is known yet; that is retried.
        let _ = from.send(to.public_key(), &tag);
        let wait_until = Instant::now() + Duration::from_millis(250);
        while let Some(left) = wait_until.checked_duration_since(Instant::now()) {
            match to.recv_timeout(left) {
                Some(d) if d.source == from.public_key() && d.payload == tag => return true,
                Some(_) => {}
                None => break,
            }
        }
    }
    false
}

/// Whether every node reaches every other.
pub fn all_reach_all(nodes: &[Node], within: Duration) -> bool {
    for (i, from) in nodes.iter().enumerate() {
        for (j, to) in nodes.iter().enumerate() {
            if i != j && !reaches(from, to, within) {
                eprintln!("node {i} does not reach node {j}");
                return false;
            }
        }
    }
    true
}

/// How many peerings `node` has (zero if it is shut down).
pub fn peer_count(node: &Node) -> usize {
    node.peers().map_or(0, |peers| peers.len())
}
