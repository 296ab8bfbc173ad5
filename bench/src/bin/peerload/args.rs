//! The command line.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "peerload",
    about = "Opens many peerings to a pinecone daemon, keeps them alive and reports how it coped",
    long_about = "Opens many peerings to a pinecone daemon's TCP listener, each with its own \
                  ed25519 key and, with --source-range, from its own source address; keeps them \
                  alive with keepalives on the reference schedule (one after 3 s without sending); \
                  and reports how many were accepted, are still up, were refused or closed, the \
                  longest silence of the daemon on any live peering and, with --daemon-pid, the \
                  daemon's memory per peering. --probe checks that traffic between two other \
                  peers still crosses the daemon; --hold-slots and --flood-bad-bootstraps attack \
                  it at the same time. Progress goes to stderr every few seconds, the report to \
                  stdout."
)]
pub struct Args {
    /// The daemon's TCP listener.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: String,

    /// Load peerings to open, each with its own random key.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub peerings: u64,

    /// Load peerings started per second.
    #[arg(long, value_name = "R", default_value_t = 1000.0)]
    pub rate: f64,

    /// Seconds to hold everything open after the last load peering was
    /// started; with no load peerings, the length of the run. Attacks and
    /// probes run until then too.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub duration: f64,

    /// Bind every connection to its own source address, counting up from
    /// this one and skipping .0 and .255 in the last octet (any 127.x.y.z
    /// is loopback on Linux and needs no setup), wrapping to this one at
    /// the end of its /8. By default connections are not bound.
    #[arg(long, value_name = "IPV4")]
    pub source_range: Option<Ipv4Addr>,

    /// Bind every attack connection (--hold-slots, --flood-bad-bootstraps)
    /// to this one source address, as one hostile host would (for example
    /// 127.0.0.2 while honest peers use 127.0.0.1). By default they take
    /// their addresses as load connections do.
    #[arg(long, value_name = "IPV4")]
    pub attack_source: Option<Ipv4Addr>,

    /// Seconds a connection may take from its start to a completed
    /// handshake (a held slot: to a completed TCP connect).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub handshake_timeout: f64,

    /// The daemon's process id: report its resident memory before the
    /// load, its peak and at the end, and the peak growth per accepted
    /// peering.
    #[arg(long, value_name = "PID")]
    pub daemon_pid: Option<u32>,

    /// Start two in-process nodes that peer with the target and, once they
    /// reach each other through it, send each other a datagram every second
    /// through it for the whole run.
    #[arg(long)]
    pub probe: bool,

    /// Seconds the probe nodes may take to reach each other before the
    /// load starts.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub probe_patience: f64,

    /// Keep N connections open that never send a handshake, opening each
    /// again as soon as the daemon closes it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub hold_slots: u64,

    /// Keep N peerings that complete the handshake and then write
    /// bootstraps with bad signatures as fast as the daemon reads them;
    /// when the daemon closes one, connect again with a fresh key.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub flood_bad_bootstraps: u64,

    /// Seconds between progress lines on stderr.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub progress_every: f64,

    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A number of seconds from the command line, which must be finite and not
/// negative; `positive` also refuses zero.
pub fn seconds(flag: &str, value: f64, positive: bool) -> Result<Duration, String> {
    let valid = value.is_finite() && value >= 0.0 && !(positive && value == 0.0);
    valid
        .then(|| Duration::try_from_secs_f64(value).ok())
        .flatten()
        .ok_or_else(|| format!("--{flag} {value} is not a usable number of seconds"))
}

/// The rate from the command line: finite and above zero.
pub fn rate(value: f64) -> Result<f64, String> {
    (value.is_finite() && value > 0.0)
        .then_some(value)
        .ok_or_else(|| format!("--rate {value} must be above zero"))
}

/// The target's address; an IPv4 one when connections bind IPv4 source
/// addresses.
pub fn resolve_target(target: &str, ipv4_only: bool) -> Result<SocketAddr, String> {
    target
        .to_socket_addrs()
        .map_err(|e| format!("--target {target}: {e}"))?
        .find(|address| address.is_ipv4() || !ipv4_only)
        .ok_or_else(|| match ipv4_only {
            true => format!("--target {target} has no IPv4 address for --source-range"),
            false => format!("--target {target} has no address"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_must_be_finite_and_not_negative() {
        assert_eq!(
            seconds("duration", 1.5, false),
            Ok(Duration::from_millis(1_500))
        );
        assert_eq!(seconds("duration", 0.0, false), Ok(Duration::ZERO));
        assert!(seconds("progress-every", 0.0, true).is_err());
        assert!(seconds("duration", -1.0, false).is_err());
        assert!(seconds("duration", f64::NAN, false).is_err());
        assert!(seconds("duration", f64::INFINITY, false).is_err());
        assert!(seconds("duration", 1e30, false).is_err());
    }

    #[test]
    fn the_rate_must_be_above_zero() {
        assert_eq!(rate(1000.0), Ok(1000.0));
        assert!(rate(0.0).is_err());
        assert!(rate(f64::NAN).is_err());
    }

    #[test]
    fn targets_resolve_and_source_ranges_need_ipv4() {
        assert_eq!(
            resolve_target("127.0.0.1:7000", true),
            Ok("127.0.0.1:7000".parse().expect("address"))
        );
        assert!(resolve_target("[::1]:7000", true).is_err());
        assert!(resolve_target("[::1]:7000", false).is_ok());
        assert!(resolve_target("no port", false).is_err());
    }
}
