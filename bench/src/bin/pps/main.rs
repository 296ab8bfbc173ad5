//! `pps`: transit forwarding through one `pinecone` daemon over loopback
//! TCP, in packets per second, against a zero-work relay in the same run.
//!
//! A generator peering and a sink peering each complete the handshake with
//! the daemon and announce themselves as tree roots, so the sink's key is a
//! direct SNEK candidate of the node. The generator then writes SNEK-routed
//! traffic frames addressed to the sink in large batches; the sink deframes
//! and counts what arrives. The same generator code then writes the same
//! bytes through a relay that splices two TCP streams without parsing
//! them, to a second counting sink: that is the ceiling.

mod daemon;
mod generator;
mod measure;
mod peer;
mod relay;
mod sink;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use ed25519_dalek::SigningKey;
use pinecone_engine::wire::Watermark;

use daemon::Daemon;
use generator::Batch;
use measure::{measure, wait_until_delivering, Sample, Timing};
use peer::Peering;
use sink::{count_traffic, FrameCount};

/// Command-line options.
#[derive(Parser)]
#[command(about = "Transit packets per second through one pinecone daemon over loopback TCP")]
struct Args {
    /// Seconds of each measurement window.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Milliseconds of sending before each window opens.
    #[arg(long, default_value_t = 500)]
    warmup_ms: u64,
    /// Payload sizes to measure, in bytes.
    #[arg(long, value_delimiter = ',', default_value = "64,1280")]
    payloads: Vec<usize>,
    /// The `pinecone` daemon; by default the one next to this binary.
    #[arg(long)]
    daemon: Option<PathBuf>,
    /// Passed to the daemon as `--workers`.
    #[arg(long)]
    workers: Option<usize>,
    /// Passed to the daemon as `--io` (uring or epoll).
    #[arg(long)]
    io: Option<String>,
    /// Send frames as an earlier hop would have left them (watermark: the
    /// sink's key), so the node forwards them unchanged but for the hop
    /// limit; by default they carry the fresh watermark of a frame that
    /// has not been routed yet, which the node rewrites.
    #[arg(long)]
    already_routed: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pps: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The two paths the generator can write into, with their counters.
struct Paths {
    node_writer: Arc<Mutex<TcpStream>>,
    node_count: FrameCount,
    relay_writer: Arc<Mutex<TcpStream>>,
    relay_count: FrameCount,
}

fn run(args: Args) -> Result<(), String> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be in (0, 600]".into());
    }
    let timing = Timing {
        warmup: Duration::from_millis(args.warmup_ms),
        window: Duration::from_secs_f64(args.seconds),
    };
    let mut daemon = Daemon::spawn(
        &daemon_path(args.daemon)?,
        &daemon_args(args.workers, args.io.as_deref()),
    )?;
    println!(
        "node under test: pinecone daemon at tcp://{}",
        daemon.address
    );

    let sink_key = SigningKey::from_bytes(&[0x51; 32]);
    let generator_key = SigningKey::from_bytes(&[0x47; 32]);
    let sink = Peering::open(daemon.address, &sink_key)?;
    let generator = Peering::open(daemon.address, &generator_key)?;
    let (relay_writer, relay_count) = relay_path()?;
    let paths = Paths {
        node_writer: Arc::clone(&generator.writer),
        node_count: count_traffic(sink.reader.try_clone().map_err(|e| e.to_string())?),
        relay_writer,
        relay_count,
    };
    // Drain what the node sends the generator (announcements, keepalives).
    count_traffic(generator.reader.try_clone().map_err(|e| e.to_string())?);

    println!(
        "{:>8} {:>12} {:>12} {:>12} {:>7} {:>14}",
        "payload", "offered pps", "node pps", "relay pps", "ratio", "node CPU s/Mf"
    );
    let watermark = if args.already_routed {
        Watermark {
            key: sink.key,
            seq: 0,
        }
    } else {
        Watermark::FRESH
    };
    for &payload in &args.payloads {
        let batch = Arc::new(Batch::snek(generator.key, sink.key, watermark, payload)?);
        wait_until_delivering(
            &paths.node_writer,
            &batch,
            &paths.node_count,
            Duration::from_secs(10),
        )?;
        let node_cpu = || daemon.cpu_seconds().ok();
        let through_node = measure(
            &paths.node_writer,
            &batch,
            &paths.node_count,
            timing,
            &node_cpu,
        );
        let through_relay = measure(
            &paths.relay_writer,
            &batch,
            &paths.relay_count,
            timing,
            &|| None,
        );
        print_row(payload, &through_node, &through_relay);
    }
    if !daemon.is_running() {
        return Err("the daemon exited during the run".into());
    }
    println!("node peak RSS (VmHWM): {} KiB", daemon.peak_rss_kib()?);
    Ok(())
}

/// Connects a generator stream through a fresh relay to a counting sink.
fn relay_path() -> Result<(Arc<Mutex<TcpStream>>, FrameCount), String> {
    let sink = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let relay = relay::start(sink.local_addr().map_err(|e| e.to_string())?)?;
    let generator = TcpStream::connect(relay).map_err(|e| format!("connect relay: {e}"))?;
    generator.set_nodelay(true).map_err(|e| e.to_string())?;
    let (delivered, _) = sink.accept().map_err(|e| format!("relay sink: {e}"))?;
    Ok((Arc::new(Mutex::new(generator)), count_traffic(delivered)))
}

/// The daemon binary: `given`, or `pinecone` next to this executable.
fn daemon_path(given: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return Ok(path);
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.with_file_name("pinecone");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "no daemon at {} (build it with `cargo build --release -p pinecone-transports`, or pass --daemon)",
            path.display()
        ))
    }
}

/// The daemon flags the options ask for.
fn daemon_args(workers: Option<usize>, io: Option<&str>) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(workers) = workers {
        args.extend(["--workers".to_string(), workers.to_string()]);
    }
    if let Some(io) = io {
        args.extend(["--io".to_string(), io.to_string()]);
    }
    args
}

/// Prints one payload size's results.
fn print_row(payload: usize, node: &Sample, relay: &Sample) {
    let ratio = node.delivered_pps() / relay.delivered_pps().max(f64::MIN_POSITIVE);
    let cpu = node
        .node_cpu_per_million()
        .map_or_else(|| "n/a".to_string(), |c| format!("{c:.3}"));
    println!(
        "{:>8} {:>12.0} {:>12.0} {:>12.0} {:>6.1}% {:>14}",
        payload,
        node.offered_pps(),
        node.delivered_pps(),
        relay.delivered_pps(),
        ratio * 100.0,
        cpu
    );
}
