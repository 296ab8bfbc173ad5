//! The daemon's `--bluetooth`: a clear error from a build without the
//! feature; with it, Bluetooth starts or fails with a clear error (this
//! project's machines have no adapter), never hangs.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the daemon with `--bluetooth` until it exits or `within` passes;
/// returns its exit status (`None` if still running, then stopped) and
/// what it logged.
fn run_with_bluetooth(within: Duration) -> (Option<std::process::ExitStatus>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinecone"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--listen-ws",
            "",
            "--workers",
            "1",
            "--bluetooth",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("daemon starts");
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read stderr");
    (status, log)
}

#[cfg(not(feature = "bluetooth"))]
#[test]
fn refuses_bluetooth_in_a_build_without_it() {
    let (status, log) = run_with_bluetooth(Duration::from_secs(30));
    let status = status.expect("the daemon exits");
    assert!(!status.success());
    assert!(
        log.contains("built without Bluetooth support") && log.contains("--features bluetooth"),
        "{log}"
    );
}

#[cfg(feature = "bluetooth")]
#[test]
fn starts_bluetooth_or_says_why_not() {
    let (status, log) = run_with_bluetooth(Duration::from_secs(5));
    match status {
        Some(status) => {
            assert!(!status.success());
            assert!(log.contains("cannot start Bluetooth"), "{log}");
            eprintln!("no Bluetooth here, as expected: {log}");
        }
        None => assert!(
            log.contains("Bluetooth scanning for P2P Matrix peers"),
            "running without saying so: {log}"
        ),
    }
}
