//! The `pinecone` daemon starts, prints its key and addresses, peers, serves
//! its manhole, and exits cleanly on SIGTERM and SIGINT.

// The node helpers of pinecone-transports' own tests.
#[path = "../../tests/node_support/mod.rs"]
mod node_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use node_support::{eventually, node, peer_count, test_io_flag, CONVERGENCE};
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
