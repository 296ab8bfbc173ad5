//! The `pinecone` daemon starts, prints its key and addresses, peers, serves
//! its manhole and its Prometheus metrics, and exits cleanly on SIGTERM and
//! SIGINT.

// The node helpers of pinecone-transports' own tests.
#[path = "../../tests/node_support/mod.rs"]
mod node_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use node_support::{eventually, node, peer_count, reaches, test_io_flag, CONVERGENCE};
use pinecone_engine::wire::PublicKey;

/// A running daemon, killed if a test fails before stopping it.
struct Daemon {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Daemon {
    fn start(args: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pinecone"))
            .args(args)
            .args(["--io", test_io_flag()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("daemon starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Daemon { child, stdout }
    }

    /// The next line the daemon prints.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read stdout");
        line.trim_end().to_owned()
    }

    /// The rest of a printed line after `prefix`.
    fn expect_line(&mut self, prefix: &str) -> String {
        let line = self.line();
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
            .to_owned()
    }

    /// Sends `signal` and waits for a clean exit.
    fn stop_with(mut self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "daemon exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "daemon did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[test]
fn prints_its_key_and_addresses_peers_and_stops_on_sigterm() {
    let seed = [7u8; 32];
    let key = PublicKey::of(&SigningKey::from_bytes(&seed));
    let mut daemon = Daemon::start(&[
        "--listen",
        "127.0.0.1:0",
        "--listen-ws",
        "127.0.0.1:0",
        "--manhole",
        "--workers",
        "2",
        "--secret-key",
        &hex::encode(seed),
    ]);
    assert_eq!(daemon.expect_line("Public key: "), key.to_string());
    let tcp = daemon.expect_line("Listening on tcp://");
    let ws = daemon.expect_line("Listening for WebSockets on ws://");

    let peer = node(90);
    peer.connect(&format!("tcp://{tcp}")).expect("connect");
    assert!(eventually(CONVERGENCE, || {
        peer.peers()
            .is_ok_and(|peers| peers.iter().any(|p| p.key == key))
    }));
    let manhole = get(&ws, "/manhole");
    let body = manhole.split("\r\n\r\n").nth(1).unwrap_or("");
    let dump: serde_json::Value = serde_json::from_str(body).expect("manhole JSON");
    assert_eq!(dump["public_key"], key.to_string());
    assert!(dump["peers"]
        .as_object()
        .is_some_and(|peers| peers.contains_key(&peer.public_key().to_string())));

    daemon.stop_with("-TERM");
    // The peering ends with the daemon.
    assert!(eventually(CONVERGENCE, || peer_count(&peer) == 0));
}

#[test]
fn accepts_the_reference_flags_and_stops_on_sigint() {
    let seed = [8u8; 32];
    let key = PublicKey::of(&SigningKey::from_bytes(&seed));
    let mut daemon = Daemon::start(&[
        "-listen",
        "127.0.0.1:0",
        "-listenws=",
        "-secretkey",
        &hex::encode(seed),
        "--workers",
        "1",
    ]);
    assert_eq!(daemon.expect_line("Public key: "), key.to_string());
    let tcp = daemon.expect_line("Listening on tcp://");
    assert!(TcpStream::connect(&tcp).is_ok());
    daemon.stop_with("-INT");
}

/// The value of the sample `series` (name and labels as printed) in a
/// Prometheus text body.
fn sample(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series}"))
        .parse()
        .expect("an integer")
}

/// Runs Debian's `promtool check metrics` on `body` when it is installed
/// (CI installs it and insists on it).
fn promtool_accepts(body: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not run ({error}): apt-get install prometheus");
            return;
        }
        Err(error) => panic!("promtool is needed in CI: {error}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn serves_prometheus_metrics_that_follow_the_traffic() {
    let mut daemon = Daemon::start(&[
        "--listen",
        "127.0.0.1:0",
        "--listen-ws",
        "",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let key = daemon.expect_line("Public key: ");
    let tcp = daemon.expect_line("Listening on tcp://");
    let metrics = daemon.expect_line("Metrics at http://");
    let metrics = metrics.strip_suffix("/metrics").expect("a /metrics URL");
    let scrape = || {
        let response = get(metrics, "/metrics");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("text/plain; version=0.0.4"), "{head}");
        body.to_owned()
    };
    assert!(get(metrics, "/elsewhere").starts_with("HTTP/1.1 404"));

    let (a, b) = (node(95), node(96));
    for peer in [&a, &b] {
        peer.connect(&format!("tcp://{tcp}")).expect("connect");
    }
    assert!(eventually(CONVERGENCE, || peer_count(&a) == 1 && peer_count(&b) == 1));
    assert!(reaches(&a, &b, CONVERGENCE));
    let before = scrape();
    assert_eq!(sample(&before, "pinecone_peerings{type=\"remote\"}"), 2);
    assert!(sample(&before, "pinecone_handshakes_accepted_total") >= 2);
    assert!(
        sample(
            &before,
            "pinecone_protocol_frames_received_total{type=\"tree_announcement\"}"
        ) >= 2
    );
    assert!(
        sample(
            &before,
            "pinecone_signature_checks_total{kind=\"announcement\"}"
        ) >= 2
    );

    let sent = 50;
    for i in 0..sent {
        a.send(b.public_key(), format!("datagram {i}").as_bytes())
            .expect("send");
    }
    let mut received = 0;
    while received < sent && b.recv_timeout(Duration::from_secs(5)).is_some() {
        received += 1;
    }
    assert_eq!(received, sent);
    assert!(eventually(Duration::from_secs(5), || {
        let after = scrape();
        sample(&after, "pinecone_forwarded_frames_total")
            >= sample(&before, "pinecone_forwarded_frames_total") + sent
    }));
    let after = scrape();
    assert!(
        sample(&after, "pinecone_forwarded_bytes_total")
            > sample(&before, "pinecone_forwarded_bytes_total")
    );
    assert!(
        sample(&after, "pinecone_received_frames_total")
            > sample(&before, "pinecone_received_frames_total")
    );
    assert!(
        sample(&after, "pinecone_written_bytes_total")
            > sample(&before, "pinecone_written_bytes_total")
    );
    assert_eq!(sample(&after, "pinecone_sessions"), 0);
    // Nothing is labelled with a peer key, ours or another's.
    for peer in [
        key.as_str(),
        &a.public_key().to_string(),
        &b.public_key().to_string(),
    ] {
        assert!(!after.contains(peer), "a key in the metrics");
    }
    promtool_accepts(&after);
    daemon.stop_with("-TERM");
}
