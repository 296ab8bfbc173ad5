//! Two daemons with `--multicast` on a LAN of two network namespaces
//! joined by a veth pair find each other and carry pings between nodes
//! peered to them by TCP. Skipped, saying why, where namespaces cannot be
//! made (see `netns_support`).

#[path = "../../tests/netns_support/mod.rs"]
mod netns_support;
#[path = "../../tests/node_support/mod.rs"]
mod node_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netns_support::{lan_or_skip, Families, Lan};
use node_support::{eventually, node_with, reaches, test_config, test_io_flag};
use pinecone_engine::wire::PublicKey;
use pinecone_transports::Node;

/// How long the daemons get to find each other. Discovery needs one beacon
/// (sent at once, then every 2 s); this is generous for a loaded machine.
/// The time it took is printed.
const PEERING_PATIENCE: Duration = Duration::from_secs(30);

/// A daemon in a namespace, killed on drop.
struct Daemon {
    child: Child,
    tcp: String,
}

impl Daemon {
    fn start(lan: &Lan, side: usize, seed: &str) -> Daemon {
        let mut child = lan
            .command(side, env!("CARGO_BIN_EXE_pinecone"))
            .args(["--listen", "127.0.0.1:0", "--listen-ws", "", "--multicast"])
            .args([
                "--secret-key",
                seed,
                "--io",
                test_io_flag(),
                "--workers",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the daemon starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut tcp = None;
        for line in lines.by_ref() {
            let line = line.expect("a line");
            if let Some(address) = line.strip_prefix("Listening on tcp://") {
                tcp = Some(address.to_owned());
            }
            if line.starts_with("Multicast discovery on") {
                break;
            }
        }
        let tcp = tcp.expect("the daemon printed its TCP address");
        Daemon { child, tcp }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Answers every datagram starting with `ping` with `pong` and the rest,
/// until `stop`.
fn echo(node: &Node, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if let Some(datagram) = node.recv_timeout(Duration::from_millis(100)) {
            if let Some(rest) = datagram.payload.strip_prefix(b"ping") {
                let _ = node.send(datagram.source, &[b"pong", rest].concat());
            }
        }
    }
}

/// Sends `count` pings to `to`, one at a time, each answered within
/// `timeout` or lost; returns how many were answered.
fn ping(from: &Node, to: PublicKey, count: u32, timeout: Duration) -> u32 {
    let mut answered = 0;
    for n in 0..count {
        let tag = n.to_be_bytes();
        if from.send(to, &[&b"ping"[..], &tag].concat()).is_err() {
            continue;
        }
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match from.recv_timeout(left) {
                Some(d) if d.source == to && d.payload == [&b"pong"[..], &tag].concat() => {
                    answered += 1;
                    break;
                }
                _ => {}
            }
        }
    }
    answered
}

/// Pings `to` from `from` 10 times, as the reference's ping tools do: once
/// three probes in a row were answered (the tree and the paths may still
/// be settling after the first datagram crossed), each answered within 3 s
/// or lost. Returns how many of the 10 were answered.
fn ping_through(from: &Node, to: &Node) -> u32 {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| echo(to, &stop));
        let timeout = Duration::from_secs(3);
        let settled = eventually(PEERING_PATIENCE, || {
            ping(from, to.public_key(), 3, timeout) == 3
        });
        let answered = if settled {
            ping(from, to.public_key(), 10, timeout)
        } else {
            0
        };
        stop.store(true, Ordering::Relaxed);
        answered
    })
}

#[test]
fn two_daemons_carry_pings_between_nodes_behind_them() {
    let Some(lan) = lan_or_skip(
        "two_daemons_carry_pings_between_nodes_behind_them",
        Families::Both,
    ) else {
        return;
    };
    let started = Instant::now();
    let daemons = [
        Daemon::start(&lan, 0, &"55".repeat(32)),
        Daemon::start(&lan, 1, &"66".repeat(32)),
    ];
    let behind: Vec<Node> = (0..2)
        .map(|side| {
            let tcp = daemons[side].tcp.clone();
            lan.run_in(side, move || {
                let node = node_with(0x70 + side as u8, test_config());
                node.connect(&format!("tcp://{tcp}")).expect("connect");
                node
            })
        })
        .collect();
    // The first datagram across shows the multicast peering is up.
    assert!(
        reaches(&behind[0], &behind[1], PEERING_PATIENCE),
        "the node behind one daemon reaches the node behind the other"
    );
    eprintln!(
        "a datagram crossed the daemons' multicast peering {} ms after they started",
        started.elapsed().as_millis()
    );
    let answered = ping_through(&behind[0], &behind[1]);
    let answered_back = ping_through(&behind[1], &behind[0]);
    eprintln!("pings answered: {answered}/10 one way, {answered_back}/10 back");
    assert_eq!((answered, answered_back), (10, 10));
}
