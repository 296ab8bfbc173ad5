//! `pps`: transit forwarding through `pinecone` daemons over loopback TCP,
//! in frames per second, against zero-work relays in the same run.
//!
//! For each daemon (each binary given, with each I/O driver asked for) a
//! generator peering and a sink peering complete the handshake and announce
//! themselves as tree roots, so the sink's key is a direct SNEK candidate of
//! the node. The generator then writes SNEK-routed traffic frames that
//! route to the sink in large batches; the sink deframes and counts what
//! arrives. The same bytes then go through relays that pass one stream
//! into another without parsing them: that is the ceiling.
//!
//! A single flow is one source key to the sink's key. Many flows (`--flows
//! 1024`) give every frame one of that many source keys and one of
//! `--destinations` keys just below the sink's (which all route to it), so
//! that consecutive frames never share a head, as on a backbone. Every
//! scenario is measured on every path once per run, the paths taking turns
//! in a rotating order, and the medians over runs close the report.
//!
//! `--scrape LABEL` starts the daemons of that label with `--metrics` and
//! fetches their `/metrics` every `--scrape-interval-ms` for the whole run,
//! as Prometheus would: give the same binary twice, one label scraped and
//! one not, to measure what scraping costs.

mod daemon;
mod flows;
mod generator;
mod measure;
mod peer;
mod relay;
mod report;
mod scraper;
mod sink;
mod target;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pinecone_engine::wire::Watermark;

use generator::Batch;
use measure::{measure, wait_until_delivering, Timing};
use relay::RelayKind;
use report::{Results, Scenario};
use target::{peer_keys, Target};

/// Command-line options.
#[derive(Parser)]
#[command(about = "Transit frames per second through pinecone daemons over loopback TCP")]
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
    /// Numbers of flows (distinct source keys) to measure; 1 is a single
    /// flow to the sink's own key.
    #[arg(long, value_delimiter = ',', default_value = "1,1024")]
    flows: Vec<usize>,
    /// Destination keys of many-flows traffic (all routing to the sink).
    #[arg(long, default_value_t = 1024)]
    destinations: usize,
    /// Interleaved runs; the report closes with the medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Frames per second to offer (paced); by default as many as each path
    /// takes. Paced runs measure the node's CPU cost at that rate, and
    /// leave the relays out.
    #[arg(long)]
    rate: Option<f64>,
    /// A `pinecone` daemon to measure, as `PATH` or `LABEL=PATH`;
    /// repeatable. By default the one next to this binary.
    #[arg(long)]
    daemon: Vec<String>,
    /// I/O drivers to run each daemon with (`--io`).
    #[arg(long, value_delimiter = ',', default_value = "uring,epoll")]
    io: Vec<String>,
    /// Passed to every daemon as `--workers`.
    #[arg(long)]
    workers: Option<usize>,
    /// Another flag passed to every daemon as it is (for example
    /// `--daemon-arg=--no-pin`); repeatable.
    #[arg(long, allow_hyphen_values = true)]
    daemon_arg: Vec<String>,
    /// Labels of daemons to start with `--metrics` and scrape during the
    /// whole run; repeatable.
    #[arg(long)]
    scrape: Vec<String>,
    /// Milliseconds between two scrapes of a scraped daemon.
    #[arg(long, default_value_t = 1000)]
    scrape_interval_ms: u64,
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

fn run(args: Args) -> Result<(), String> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be in (0, 600]".into());
    }
    if args.flows.contains(&0) || args.destinations == 0 || args.runs == 0 {
        return Err("--flows, --destinations and --runs must be at least 1".into());
    }
    let timing = Timing {
        warmup: Duration::from_millis(args.warmup_ms),
        window: Duration::from_secs_f64(args.seconds),
        rate: args.rate,
    };
    let targets = start_targets(&args)?;
    let batches = build_batches(&args)?;
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    println!("paths: {}", names.join(", "));
    println!(
        "{:>4} {:>8} {:>6} {:<22} {:>12} {:>12} {:>10}",
        "run", "payload", "flows", "path", "offered pps", "pps", "CPU s/Mf"
    );
    let mut results = Results::default();
    let mut proven = vec![false; targets.len()];
    for run in 0..args.runs {
        for (&scenario, batch) in &batches {
            for turn in 0..targets.len() {
                let index = (run + turn) % targets.len();
                let target = &targets[index];
                if !proven[index] {
                    wait_until_delivering(
                        &target.writer,
                        batch,
                        &target.count,
                        Duration::from_secs(10),
                    )
                    .map_err(|e| format!("{}: {e}", target.name))?;
                    proven[index] = true;
                }
                let sample = measure(&target.writer, batch, &target.count, timing, &|| {
                    target.cpu_seconds()
                });
                let cpu = sample
                    .node_cpu_per_million()
                    .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}"));
                println!(
                    "{:>4} {:>8} {:>6} {:<22} {:>12.0} {:>12.0} {:>10}",
                    run + 1,
                    scenario.0,
                    scenario.1,
                    target.name,
                    sample.offered_pps(),
                    sample.delivered_pps(),
                    cpu
                );
                results.record(scenario, &target.name, run, sample);
            }
        }
    }
    let relays: Vec<String> = targets
        .iter()
        .filter(|t| t.relay.is_some())
        .map(|t| t.name.clone())
        .collect();
    results.print_medians(&relays, &driver_pairs(&targets));
    println!();
    for target in targets {
        if let Some(mut node) = target.node {
            if !node.daemon.is_running() {
                return Err(format!("{} exited during the run", target.name));
            }
            println!(
                "{} peak RSS (VmHWM): {} KiB",
                target.name,
                node.daemon.peak_rss_kib()?
            );
            if let Some(scraper) = node.scraper.take() {
                println!("{} /metrics: {}", target.name, scraper.summary());
            }
        }
    }
    Ok(())
}

/// Every daemon with every driver, then the relays (unless paced).
fn start_targets(args: &Args) -> Result<Vec<Target>, String> {
    let daemons = if args.daemon.is_empty() {
        vec![("node".to_owned(), default_daemon_path()?)]
    } else {
        args.daemon.iter().map(|d| labelled_path(d)).collect()
    };
    let mut targets = Vec::new();
    for (label, path) in &daemons {
        for io in &args.io {
            let mut flags = vec!["--io".to_owned(), io.clone()];
            if let Some(workers) = args.workers {
                flags.extend(["--workers".to_owned(), workers.to_string()]);
            }
            flags.extend(args.daemon_arg.iter().cloned());
            let scrape = args.scrape.contains(label).then(|| {
                flags.extend(["--metrics".to_owned(), "127.0.0.1:0".to_owned()]);
                Duration::from_millis(args.scrape_interval_ms.max(1))
            });
            let target = Target::node(path, label, io, &flags, scrape)?;
            if let Some(node) = &target.node {
                println!(
                    "{}: pinecone daemon at tcp://{}",
                    target.name, node.daemon.address
                );
            }
            targets.push(target);
        }
    }
    if args.rate.is_none() {
        targets.push(Target::relay(RelayKind::Copy)?);
        targets.push(Target::relay(RelayKind::Splice)?);
    }
    Ok(targets)
}

/// Each scenario's batch of frames.
fn build_batches(args: &Args) -> Result<BTreeMap<Scenario, Arc<Batch>>, String> {
    let (generator, sink) = peer_keys();
    let watermark = if args.already_routed {
        Watermark { key: sink, seq: 0 }
    } else {
        Watermark::FRESH
    };
    let mut batches = BTreeMap::new();
    for &payload in &args.payloads {
        for &flow_count in &args.flows {
            let (sources, destinations) = if flow_count == 1 {
                (vec![generator], vec![sink])
            } else {
                (
                    flows::source_keys(flow_count),
                    flows::destination_keys(sink, args.destinations),
                )
            };
            let batch = Batch::snek(&sources, &destinations, watermark, payload)?;
            batches.insert((payload, flow_count), Arc::new(batch));
        }
    }
    Ok(batches)
}

/// The (io_uring, epoll) path names of each daemon that runs both.
fn driver_pairs(targets: &[Target]) -> Vec<(String, String)> {
    let nodes: Vec<_> = targets.iter().filter_map(|t| t.node.as_ref()).collect();
    nodes
        .iter()
        .filter(|n| n.io == "uring")
        .filter_map(|uring| {
            nodes
                .iter()
                .find(|n| n.label == uring.label && n.io == "epoll")
                .map(|epoll| {
                    (
                        format!("{} {}", uring.label, uring.io),
                        format!("{} {}", epoll.label, epoll.io),
                    )
                })
        })
        .collect()
}

/// `LABEL=PATH`, or a bare `PATH` labelled by its file name.
fn labelled_path(text: &str) -> (String, PathBuf) {
    match text.split_once('=') {
        Some((label, path)) => (label.to_owned(), PathBuf::from(path)),
        None => {
            let path = PathBuf::from(text);
            let label = path
                .file_name()
                .map_or_else(|| "node".to_owned(), |n| n.to_string_lossy().into_owned());
            (label, path)
        }
    }
}

/// `pinecone` next to this executable.
fn default_daemon_path() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.with_file_name("pinecone");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "no daemon at {} (build it with `cargo build --release -p pinecone-daemon`, or pass --daemon)",
            path.display()
        ))
    }
}
