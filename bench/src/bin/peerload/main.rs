//! `peerload`: opens many peerings to one `pinecone` daemon, each with its
//! own key and (optionally) its own loopback source address, keeps them
//! alive, and reports how many the daemon accepted and kept, how long it
//! went silent on any of them and what they cost it in memory.
//!
//! Everything runs on one thread with mio, but for the optional probe: two
//! in-process nodes, driven from a second thread, that send each other
//! datagrams through the daemon while it is under load. Attack modes hold
//! the daemon's handshake slots or flood it with bootstraps whose
//! signatures do not verify, at the same time.

mod args;
mod conn;
mod dial;
mod driver;
mod frames;
mod gaps;
mod limits;
mod memory;
mod probe;
mod report;
mod source;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

use args::Args;
use driver::{Driver, Plan};
use probe::Probe;
use report::{DaemonMemory, Report};
use source::SourceAddresses;

/// File descriptors kept free for everything but the connections: the
/// poller, the probe nodes, standard streams.
const SPARE_FILES: u64 = 64;

fn main() -> ExitCode {
    let args = Args::parse();
    let json = args.json;
    match run(args) {
        Ok(report) => {
            if json {
                match serde_json::to_string(&report) {
                    Ok(text) => println!("{text}"),
                    Err(error) => {
                        eprintln!("peerload: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("peerload: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<Report, String> {
    let bound = args.source_range.is_some() || args.attack_source.is_some();
    let target = args::resolve_target(&args.target, bound)?;
    let rate = args::rate(args.rate)?;
    let plan = Plan {
        target,
        peerings: args.peerings,
        rate,
        hold: args::seconds("duration", args.duration, false)?,
        sources: args.source_range.map(SourceAddresses::starting_at),
        attack_source: args.attack_source,
        handshake_timeout: args::seconds("handshake-timeout", args.handshake_timeout, true)?,
        hold_slots: args.hold_slots,
        flooders: args.flood_bad_bootstraps,
        progress_every: args::seconds("progress-every", args.progress_every, true)?,
        daemon_pid: args.daemon_pid,
    };
    let probe_patience = args::seconds("probe-patience", args.probe_patience, true)?;
    let open_files = limits::raise_open_files()?;
    let wanted = plan.peerings + plan.hold_slots + plan.flooders + SPARE_FILES;
    if let Some(limit) = open_files.filter(|&limit| limit < wanted) {
        eprintln!(
            "peerload: warning: the open-file limit is {limit}, below the {wanted} this run may need"
        );
    }

    let probe = match args.probe {
        true => Some(Probe::start(target, probe_patience)?),
        false => None,
    };
    let before = args.daemon_pid.map(memory::read).transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe_thread = probe.map(|probe| {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || probe.run_until(&stop))
    });

    let mut driver = Driver::new(plan).map_err(|e| format!("cannot start the poller: {e}"))?;
    let ran = driver.run();
    let tally = driver.finish();
    // Read while every connection is still open.
    let end = args.daemon_pid.map(memory::read).transpose();
    stop.store(true, Ordering::Relaxed);
    let probe = probe_thread
        .map(|thread| thread.join())
        .transpose()
        .map_err(|_| "the probe thread panicked".to_owned())?;
    drop(driver);
    ran.map_err(|e| format!("polling failed: {e}"))?;

    let daemon_memory = match (args.daemon_pid, before, end?) {
        (Some(pid), Some(before), Some(end)) => {
            Some(DaemonMemory::new(pid, before, end, tally.peerings.accepted))
        }
        _ => None,
    };
    Ok(Report {
        target: target.to_string(),
        source_range: args.source_range.map(|first| first.to_string()),
        rate,
        peerings: tally.peerings,
        open_seconds: tally.open_seconds,
        held_seconds: tally.held_seconds,
        daemon_memory,
        probe,
        hold_slots: (args.hold_slots > 0).then_some(tally.hold),
        flood: (args.flood_bad_bootstraps > 0).then_some(tally.flood),
    })
}
