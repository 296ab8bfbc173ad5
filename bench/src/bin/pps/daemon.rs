//! The node under test: the `pinecone` daemon as a child process, and what
//! the kernel says about its CPU time and memory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `pinecone` daemon listening for TCP peerings on loopback.
pub struct Daemon {
    child: Child,
    /// The TCP address the daemon printed.
    pub address: SocketAddr,
    /// Where it serves `/metrics`, when started with `--metrics`.
    pub metrics: Option<SocketAddr>,
    clock_ticks_per_second: f64,
}

impl Daemon {
    /// Starts `binary` listening on an ephemeral loopback port with the
    /// WebSocket listener off, plus `extra_args`, and reads the address it
    /// prints.
    pub fn spawn(binary: &Path, extra_args: &[String]) -> Result<Daemon, String> {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--listen-ws", ""])
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("daemon has no stdout")?;
        let with_metrics = extra_args.iter().any(|arg| arg == "--metrics");
        let (address, metrics) = match read_addresses(stdout, with_metrics) {
            Ok(addresses) => addresses,
            Err(message) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(message);
            }
        };
        Ok(Daemon {
            child,
            address,
            metrics,
            clock_ticks_per_second: clock_ticks_per_second(),
        })
    }

    /// User plus system CPU seconds the daemon has used, all threads.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        // The command name is in parentheses and may hold spaces: fields
        // are counted from after the last ')'. utime and stime are fields
        // 14 and 15 of the whole line, so 12 and 13 after the name.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> Result<f64, String> {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .map(|t| t as f64)
                .ok_or_else(|| format!("{path}: no field {}", i + 3))
        };
        Ok((ticks(11)? + ticks(12)?) / self.clock_ticks_per_second)
    }

    /// The daemon's peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("{path}: no VmHWM"))
    }

    /// Whether the daemon is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the daemon's start-up lines until `Listening on tcp://ADDR` and,
/// `with_metrics`, `Metrics at http://ADDR/metrics`.
fn read_addresses(
    stdout: impl std::io::Read + Send + 'static,
    with_metrics: bool,
) -> Result<(SocketAddr, Option<SocketAddr>), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let (mut tcp, mut metrics) = (None, None);
        for line in lines.by_ref().map_while(Result::ok) {
            let address = |prefix: &str, suffix: &str| {
                line.strip_prefix(prefix)?
                    .trim()
                    .strip_suffix(suffix)?
                    .parse::<SocketAddr>()
                    .ok()
            };
            tcp = tcp.or_else(|| address("Listening on tcp://", ""));
            metrics = metrics.or_else(|| address("Metrics at http://", "/metrics"));
            if tcp.is_some() && (metrics.is_some() || !with_metrics) {
                break;
            }
        }
        let _ = tx.send(tcp.map(|tcp| (tcp, metrics)));
        // Keep draining so the daemon never blocks on a full pipe.
        lines.for_each(drop);
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Some((_, None))) if with_metrics => Err("daemon printed no metrics address".into()),
        Ok(Some(addresses)) => Ok(addresses),
        Ok(None) => Err("daemon exited without printing its TCP address".into()),
        Err(_) => Err("daemon printed no TCP address within 10 s".into()),
    }
}

/// The kernel's clock tick rate for /proc times (`getconf CLK_TCK`),
/// 100 when it cannot be asked.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}
