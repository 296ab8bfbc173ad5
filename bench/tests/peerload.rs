//! Runs `peerload` against a node started in this process and checks what
//! the node saw against what the tool reports.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pinecone_transports::{Node, NodeConfig};
use serde_json::Value;

/// A node listening for TCP peers on an ephemeral loopback port.
fn listening_node() -> (Node, SocketAddr) {
    let node = Node::random(NodeConfig::default()).expect("node starts");
    let address = node.listen_tcp("127.0.0.1:0").expect("listens");
    (node, address)
}

/// Starts `peerload` against `target` with `args` and a JSON report.
fn start_peerload(target: SocketAddr, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_peerload"))
        .arg("--target")
        .arg(target.to_string())
        .args(args)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("peerload starts")
}

/// The tool's JSON report, once it has exited successfully.
fn report(output: Output) -> Value {
    assert!(output.status.success(), "peerload failed: {output:?}");
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[test]
fn fifty_peerings_from_their_own_addresses_are_accepted_and_kept_alive() {
    let (node, target) = listening_node();
    let tool = start_peerload(
        target,
        &[
            "--peerings",
            "50",
            "--rate",
            "100",
            "--duration",
            "4",
            "--source-range",
            "127.1.0.1",
        ],
    );

    // While they are held, the node sees fifty peers, each with its own
    // key, from 127.1.0.1 to 127.1.0.50.
    let deadline = Instant::now() + Duration::from_secs(10);
    let peers = loop {
        let peers = node.peers().expect("peers");
        if peers.len() == 50 || Instant::now() > deadline {
            break peers;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(peers.len(), 50);
    let keys: HashSet<_> = peers.iter().map(|p| p.key).collect();
    assert_eq!(keys.len(), 50);
    let sources: HashSet<IpAddr> = peers
        .iter()
        .map(|p| p.uri.parse::<SocketAddr>().expect("address").ip())
        .collect();
    let expected: HashSet<IpAddr> = (1..=50)
        .map(|last| IpAddr::V4(Ipv4Addr::new(127, 1, 0, last)))
        .collect();
    assert_eq!(sources, expected);

    let report = report(tool.wait_with_output().expect("peerload ends"));
    assert_eq!(report["attempted"], 50);
    assert_eq!(report["accepted"], 50);
    assert_eq!(report["refused"], 0);
    assert_eq!(report["alive_at_end"], 50);
    assert_eq!(report["closed_by_daemon"], 0);
    let gap = report["largest_gap_ms"].as_u64().expect("gap");
    assert!(gap < 3_500, "largest gap {gap} ms");
    assert!(report["daemon_memory"].is_null());
}

#[test]
fn probes_cross_the_node_while_slots_are_held_and_bad_bootstraps_flood_it() {
    let (_node, target) = listening_node();
    let tool = start_peerload(
        target,
        &[
            "--peerings",
            "10",
            "--rate",
            "100",
            "--duration",
            "4",
            "--probe",
            "--hold-slots",
            "2",
            "--flood-bad-bootstraps",
            "2",
            "--daemon-pid",
            &std::process::id().to_string(),
        ],
    );
    let report = report(tool.wait_with_output().expect("peerload ends"));

    assert_eq!(report["accepted"], 10);
    let probe = &report["probe"];
    let sent = probe["sent"].as_u64().expect("sent");
    assert!(sent >= 8, "{sent} probes sent in four seconds");
    assert!(probe["received"].as_u64().expect("received") > 0);
    assert_eq!(report["hold_slots"]["slots"], 2);
    assert_eq!(report["hold_slots"]["held_at_end"], 2);
    let flood = &report["flood"];
    assert!(flood["handshakes"].as_u64().expect("handshakes") >= 2);
    assert!(flood["frames_sent"].as_u64().expect("frames") > 0);
    let memory = &report["daemon_memory"];
    assert_eq!(memory["pid"], std::process::id());
    assert!(memory["peak_kib"].as_u64().expect("peak") > 0);
    assert!(memory["kib_per_peering"].is_number());
}

/// A few thousand peerings, each from its own address with its own key,
/// opened at 1,000 a second: the node takes them all, keeps every one
/// (its keepalives reach each within 3.5 s), and traffic between two other
/// peers keeps crossing it. Bounded: about 15 s.
#[test]
fn three_thousand_peerings_are_accepted_kept_and_served() {
    // The node holds a descriptor per peering, and its default peering
    // limit follows the open-file limit: raise it first, as the daemon does.
    pinecone_transports::raise_open_file_limit();
    let (node, target) = listening_node();
    let tool = start_peerload(
        target,
        &[
            "--peerings",
            "3000",
            "--rate",
            "1000",
            "--duration",
            "8",
            "--source-range",
            "127.2.0.1",
            "--probe",
        ],
    );
    let report = report(tool.wait_with_output().expect("peerload ends"));
    assert_eq!(report["attempted"], 3000);
    assert_eq!(report["accepted"], 3000, "{report}");
    assert_eq!(report["alive_at_end"], 3000, "{report}");
    assert_eq!(report["closed_by_daemon"], 0, "{report}");
    assert_eq!(report["gaps_over_limit"], 0, "{report}");
    let probe = &report["probe"];
    let sent = probe["sent"].as_u64().unwrap_or(0);
    let received = probe["received"].as_u64().unwrap_or(0);
    assert!(sent > 0, "{report}");
    // The last datagram may still be on its way when the run ends.
    assert!(received + 1 >= sent, "{report}");
    drop(node);
}
