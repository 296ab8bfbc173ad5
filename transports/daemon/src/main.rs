//! `pinecone`: a Pinecone node as a daemon.

mod args;
mod bluetooth;
mod metrics;
mod metrics_http;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use pinecone_transports::{raise_open_file_limit, Node, NodeConfig, PeerLimits};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

use args::{listen_address, rewrite_legacy, Args};

fn main() -> ExitCode {
    let args = Args::parse_from(rewrite_legacy(std::env::args()));
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the node, prints its key and addresses, and runs until SIGINT or
/// SIGTERM.
fn run(args: Args) -> Result<(), String> {
    // Registered first, so that a signal arriving during start-up is not
    // lost.
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).map_err(|e| format!("cannot handle signals: {e}"))?;
    let files = raise_open_file_limit();
    let mut config = NodeConfig {
        io: args.io,
        pin_threads: !args.no_pin,
        ..NodeConfig::default()
    };
    config.forward.workers = args.workers.unwrap_or(0);
    config.limits = PeerLimits {
        max_peers: args.max_peers.unwrap_or(config.limits.max_peers),
        max_per_source: args.max_peers_per_source,
        max_per_key: args.max_peers_per_key,
    };
    config.transport.max_pending_handshakes = args.max_pending_handshakes;
    config.transport.max_pending_per_source = args.max_pending_per_source;
    config.transport.deny = args.deny.clone();
    config.transport.manhole_anywhere = args.manhole_anywhere;
    info!(
        open_files = ?files,
        max_peers = config.limits.max_peers,
        max_peers_per_source = config.limits.max_per_source,
        max_peers_per_key = config.limits.max_per_key,
        max_pending_handshakes = config.transport.max_pending_handshakes,
        max_pending_per_source = config.transport.max_pending_per_source,
        denied_ranges = config.transport.deny.len(),
        "limits"
    );
    let node = match args.secret_key {
        Some(seed) => Node::start(seed, config),
        None => Node::random(config),
    }
    .map_err(|e| format!("cannot start the node: {e}"))?;
    let node = Arc::new(node);
    info!(io = ?node.io_driver(), "node started");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Public key: {}", node.public_key());
    if let Some(address) = listen_address(&args.listen) {
        let bound = node
            .listen_tcp(address.as_str())
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        let _ = writeln!(out, "Listening on tcp://{bound}");
    }
    if let Some(address) = listen_address(&args.listen_ws) {
        let bound = node
            .listen_ws(address.as_str(), args.manhole)
            .map_err(|e| format!("cannot listen for WebSockets on {address}: {e}"))?;
        let _ = writeln!(out, "Listening for WebSockets on ws://{bound}");
        if args.manhole {
            let _ = writeln!(out, "Manhole at http://{bound}/manhole");
        }
    }
    if let Some(address) = &args.metrics {
        let bound = metrics_http::serve(address, args.manhole_anywhere, Arc::clone(&node))
            .map_err(|e| format!("cannot serve metrics on {address}: {e}"))?;
        let _ = writeln!(out, "Metrics at http://{bound}/metrics");
    }
    if let Some(multicast) = args.multicast() {
        let port = node
            .start_multicast(multicast)
            .map_err(|e| format!("cannot start multicast discovery: {e}"))?;
        let _ = writeln!(
            out,
            "Multicast discovery on, inviting peers to TCP port {port}"
        );
    }
    let _ = out.flush();
    drop(out);
    for uri in args.connect.iter().filter(|u| !u.trim().is_empty()) {
        node.connect(uri.trim())
            .map_err(|e| format!("cannot connect to {uri}: {e}"))?;
    }
    let bluetooth = bluetooth::start(&node, args.bluetooth)?;
    if let Some(signal) = signals.forever().next() {
        info!(signal, "shutting down");
    }
    bluetooth::stop(bluetooth);
    node.shutdown();
    info!("stopped");
    Ok(())
}
