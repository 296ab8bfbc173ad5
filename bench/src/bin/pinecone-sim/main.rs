//! `pinecone-sim`: runs one Pinecone router per node of a topology file in
//! virtual time and checks that every node can reach every other.
//!
//! See `docs/simulator.md` for what it measures and how.

mod churn;
mod explain;
mod keys;
mod probes;
mod report;
mod simulation;
mod stretch;
mod topology;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::report::Report;
use crate::simulation::{Settings, Simulation};
use crate::topology::Topology;

/// Simulates a Pinecone network over a topology file in virtual time, then
/// sends a datagram between every pair of nodes (a seeded sample of 100,000
/// pairs above 1,000 nodes) and reports delivery, convergence time and path
/// stretch. Progress goes to stderr.
#[derive(Debug, Parser)]
#[command(name = "pinecone-sim", version)]
struct Args {
    /// Print one JSON object instead of a readable summary.
    #[arg(long)]
    json: bool,

    /// Virtual seconds to let the network settle before the final check
    /// (probe rounds run every second meanwhile to find when it converged).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    settle: u64,

    /// One-way latency of every link, in virtual milliseconds (at least 1).
    #[arg(long, value_name = "MS", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    latency_ms: u64,

    /// After settling, cut N random links (never partitioning the graph),
    /// restore them 5 s later, five times over, probing every second; then
    /// report delivery during churn and the time to re-converge.
    #[arg(long, value_name = "N", default_value_t = 0)]
    churn: usize,

    /// Seed for node keys (SHA-256 of the seed and the node's name) and for
    /// every random choice; the same seed gives the same run.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,

    /// Worker threads stepping routers (results do not depend on it).
    /// Defaults to the number of CPUs.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Routers send no wakeup broadcasts of their own (neither the flood
    /// every 60 s nor the greeting to a new peer). Broadcasts play no part
    /// in routing; on graphs with large hubs each flood is millions of
    /// copies, every one signature-checked, which dominates the run time.
    #[arg(long)]
    no_broadcasts: bool,

    /// Describe up to N undelivered probes of the final check on stderr:
    /// their path and the state of the router that dropped them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    explain: usize,

    /// Topology file: each line a chain of node names separated by
    /// whitespace; consecutive names are linked; `#` starts a comment.
    #[arg(value_name = "GRAPH_FILE")]
    graph: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let wall = Instant::now();
    let text = match std::fs::read_to_string(&args.graph) {
        Ok(text) => text,
        Err(error) => {
            eprintln!(
                "pinecone-sim: cannot read {}: {error}",
                args.graph.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let topology = Topology::parse(&text);
    if topology.node_count() < 2 {
        eprintln!(
            "pinecone-sim: {} has fewer than two nodes",
            args.graph.display()
        );
        return ExitCode::FAILURE;
    }
    let settings = Settings {
        settle_ms: args.settle.saturating_mul(1000),
        latency_ms: args.latency_ms,
        churn_links: args.churn,
        seed: args.seed,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        explain: args.explain,
        wakeup_broadcasts: !args.no_broadcasts,
    };
    eprintln!(
        "[sim] {}: {} nodes, {} links, {} thread(s)",
        args.graph.display(),
        topology.node_count(),
        topology.links().len(),
        settings.threads
    );
    let outcome = match Simulation::new(&topology, settings.clone()).run() {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("pinecone-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    let graph = args.graph.file_stem().map_or_else(
        || args.graph.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let report = Report::new(
        graph,
        &topology,
        &settings,
        &outcome,
        wall.elapsed().as_secs_f64(),
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("a report always serialises")
        );
    } else {
        print!("{}", report.summary());
    }
    ExitCode::SUCCESS
}
