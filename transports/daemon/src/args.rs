//! The daemon's command line, including the reference's single-dash
//! spellings.

use clap::{ArgGroup, Parser};
use pinecone_transports::{Cidr, IoDriver, MulticastConfig};

/// A Pinecone overlay routing node.
#[derive(Debug, Parser)]
#[command(name = "pinecone", version, about = "A Pinecone overlay routing node")]
#[command(group(ArgGroup::new("introspection").args(["manhole", "metrics"]).multiple(true)))]
pub struct Args {
    /// Address to listen on for TCP peers (for example `127.0.0.1:7000`,
    /// or `:0` for any address and a free port). An empty value disables
    /// the TCP listener. Also accepted as `-listen`.
    #[arg(long, value_name = "ADDR", default_value = ":0")]
    pub listen: String,

    /// Address to listen on for WebSocket peers over plain HTTP; peers
    /// upgrade on any path but `/manhole`. An empty value disables it.
    /// Also accepted as `-listenws`.
    #[arg(long = "listen-ws", value_name = "ADDR", default_value = ":0")]
    pub listen_ws: String,

    /// Peers to keep connected, comma-separated: `host:port`,
    /// `tcp://host:port`, `ws://host:port/path` or `wss://…`. Each is
    /// redialled with exponential backoff (1 s doubling to 1 h) when it
    /// drops. Also accepted as `-connect`.
    #[arg(long, value_name = "URI[,URI…]", value_delimiter = ',')]
    pub connect: Vec<String>,

    /// The node's ed25519 seed as 64 hexadecimal digits; a random key when
    /// absent. Also accepted as `-secretkey`.
    #[arg(long = "secret-key", value_name = "HEX", value_parser = parse_seed)]
    pub secret_key: Option<[u8; 32]>,

    /// Serve the node's state as JSON at `/manhole` on the WebSocket
    /// listener, to loopback clients only (see `--manhole-anywhere`). Also
    /// accepted as `-manhole`.
    #[arg(long)]
    pub manhole: bool,

    /// Serve `/manhole` (and `/metrics`) to any client that can reach the
    /// listener, not only to loopback ones. The dump shows every peering's
    /// address and key: only for listeners that are not public.
    #[arg(long, requires = "introspection")]
    pub manhole_anywhere: bool,

    /// Serve the node's stats in the Prometheus text format at
    /// `GET /metrics` on this address (for example `127.0.0.1:9090`), to
    /// loopback clients only unless `--manhole-anywhere`.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Most peerings in total (default: the open-file limit, raised to its
    /// hard limit at start, less 512 descriptors kept for other uses).
    /// Static peers from `--connect` are counted but never refused.
    #[arg(long, value_name = "N")]
    pub max_peers: Option<usize>,

    /// Most peerings from one source address (an IPv4 address or an IPv6
    /// /64).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_peers_per_source: usize,

    /// Most peerings with one peer key.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_peers_per_key: usize,

    /// Most inbound connections in their setup (HTTP upgrade and
    /// handshake) at once, across all listeners; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_pending_handshakes: usize,

    /// Most inbound connections in their setup at once from one source
    /// address (an IPv4 address or an IPv6 /64), so that one host cannot
    /// take every place.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_pending_per_source: usize,

    /// Close connections from this address range at once (CIDR, e.g.
    /// `203.0.113.0/24` or `2001:db8::/32`; a bare address is one host).
    /// Repeatable.
    #[arg(long, value_name = "CIDR")]
    pub deny: Vec<Cidr>,

    /// Forwarding worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// The I/O driver: `uring` (io_uring; falls back to epoll when the
    /// kernel does not allow it) or `epoll`.
    #[arg(long, value_name = "uring|epoll", default_value = "uring")]
    pub io: IoDriver,

    /// Leave the threads unpinned. By default, when there is a core per
    /// forwarding worker, each worker thread is pinned to a core of its
    /// own and the control thread to a core off the first worker's.
    #[arg(long)]
    pub no_pin: bool,

    /// Peer with P2P Matrix apps nearby over Bluetooth LE: scan for their
    /// GATT service and open L2CAP channels to them (Linux with BlueZ;
    /// needs a build with the cargo feature `bluetooth`). Phones do not
    /// find this node: it is a central only.
    #[arg(long)]
    pub bluetooth: bool,

    /// Find peers on the LAN by multicast, as the reference's daemon does:
    /// beacons to 224.0.0.114 and ff02::114 port 60606 on every suitable
    /// interface, and a TCP listener of its own on a free port for the
    /// peers they invite.
    #[arg(long)]
    pub multicast: bool,

    /// Run multicast discovery only on interfaces whose name matches this
    /// regular expression (a search: `^eth` anchors it); implies
    /// `--multicast`.
    #[arg(long, value_name = "REGEX", value_parser = parse_interface_pattern)]
    pub multicast_interfaces: Option<MulticastConfig>,
}

impl Args {
    /// The settings of multicast discovery, when it is wanted.
    pub fn multicast(&self) -> Option<MulticastConfig> {
        match &self.multicast_interfaces {
            Some(config) => Some(config.clone()),
            None => self.multicast.then(MulticastConfig::default),
        }
    }
}

/// Compiles an interface pattern.
fn parse_interface_pattern(text: &str) -> Result<MulticastConfig, String> {
    MulticastConfig::matching(text).map_err(|error| error.to_string())
}

/// The reference daemon's single-dash flags and their spellings here.
const LEGACY_FLAGS: [(&str, &str); 5] = [
    ("-listen", "--listen"),
    ("-listenws", "--listen-ws"),
    ("-connect", "--connect"),
    ("-secretkey", "--secret-key"),
    ("-manhole", "--manhole"),
];

/// Rewrites the reference's single-dash flags (`-listen ADDR`,
/// `-listen=ADDR`, …) into the double-dash ones; everything else is left
/// alone.
pub fn rewrite_legacy(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|arg| {
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (arg.as_str(), None),
            };
            match LEGACY_FLAGS.iter().find(|(legacy, _)| *legacy == name) {
                Some((_, modern)) => match value {
                    Some(value) => format!("{modern}={value}"),
                    None => (*modern).to_owned(),
                },
                None => arg,
            }
        })
        .collect()
}

/// Parses a 32-byte seed from hexadecimal.
fn parse_seed(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text.trim()).map_err(|error| format!("not hexadecimal: {error}"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("a seed is 32 bytes (64 hex digits), not {}", bytes.len()))
}

/// A listen address as given, with the reference's `:PORT` meaning every
/// address; `None` when empty (the listener is off).
pub fn listen_address(text: &str) -> Option<String> {
    match text.trim() {
        "" => None,
        port if port.starts_with(':') => Some(format!("0.0.0.0{port}")),
        address => Some(address.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn legacy_flags_become_long_ones() {
        let rewritten = rewrite_legacy(strings(&[
            "pinecone",
            "-listen",
            "127.0.0.1:1",
            "-listenws=127.0.0.1:2",
            "-connect",
            "a:1,b:2",
            "-manhole",
            "-secretkey",
            "00",
            "--workers",
            "2",
        ]));
        assert_eq!(
            rewritten,
            strings(&[
                "pinecone",
                "--listen",
                "127.0.0.1:1",
                "--listen-ws=127.0.0.1:2",
                "--connect",
                "a:1,b:2",
                "--manhole",
                "--secret-key",
                "00",
                "--workers",
                "2",
            ])
        );
    }

    #[test]
    fn parses_every_flag() {
        let seed = "01".repeat(32);
        let args = Args::try_parse_from(rewrite_legacy(strings(&[
            "pinecone",
            "-listen",
            ":7000",
            "--listen-ws",
            "",
            "-connect",
            "a:1,ws://b:2",
            "-secretkey",
            &seed,
            "-manhole",
            "--workers",
            "3",
            "--io",
            "uring",
        ])))
        .expect("parses");
        assert_eq!(
            listen_address(&args.listen).as_deref(),
            Some("0.0.0.0:7000")
        );
        assert_eq!(listen_address(&args.listen_ws), None);
        assert_eq!(args.connect, strings(&["a:1", "ws://b:2"]));
        assert_eq!(args.secret_key, Some([1; 32]));
        assert!(args.manhole);
        assert_eq!(args.workers, Some(3));
        assert_eq!(args.io, IoDriver::Uring);
        assert!(!args.no_pin, "pinned by default");
        assert!(!args.bluetooth, "Bluetooth off by default");
        assert_eq!(args.max_peers, None);
        assert!(args.max_pending_per_source < args.max_pending_handshakes);
    }

    #[test]
    fn parses_limits_and_deny_ranges() {
        let args = Args::try_parse_from(strings(&[
            "pinecone",
            "--max-peers",
            "100",
            "--max-peers-per-source",
            "3",
            "--max-peers-per-key",
            "2",
            "--max-pending-handshakes",
            "50",
            "--max-pending-per-source",
            "4",
            "--deny",
            "127.0.0.2",
            "--deny",
            "2001:db8::/32",
            "--manhole",
            "--manhole-anywhere",
            "--no-pin",
            "--bluetooth",
        ]))
        .expect("parses");
        assert!(args.bluetooth);
        assert_eq!(args.max_peers, Some(100));
        assert_eq!((args.max_peers_per_source, args.max_peers_per_key), (3, 2));
        assert_eq!(
            (args.max_pending_handshakes, args.max_pending_per_source),
            (50, 4)
        );
        assert_eq!(args.deny.len(), 2);
        assert!(args.manhole_anywhere);
        assert!(args.no_pin);
        assert!(Args::try_parse_from(strings(&["pinecone", "--deny", "10.0.0.0/40"])).is_err());
        assert!(
            Args::try_parse_from(strings(&["pinecone", "--manhole-anywhere"])).is_err(),
            "needs --manhole or --metrics"
        );
        let args = Args::try_parse_from(strings(&[
            "pinecone",
            "--metrics",
            "127.0.0.1:9090",
            "--manhole-anywhere",
        ]))
        .expect("parses");
        assert_eq!(args.metrics.as_deref(), Some("127.0.0.1:9090"));
        assert!(args.manhole_anywhere && !args.manhole);
    }

    #[test]
    fn multicast_is_off_unless_asked_for() {
        let off = Args::try_parse_from(strings(&["pinecone"])).expect("parses");
        assert!(off.multicast().is_none());
        let on = Args::try_parse_from(strings(&["pinecone", "--multicast"])).expect("parses");
        let config = on.multicast().expect("on");
        assert!(config.interfaces.is_none());
        let some = Args::try_parse_from(strings(&["pinecone", "--multicast-interfaces", "^veth"]))
            .expect("parses");
        let filter = some
            .multicast()
            .and_then(|c| c.interfaces)
            .expect("a filter");
        assert!(filter.is_match("veth0") && !filter.is_match("eth0"));
        assert!(
            Args::try_parse_from(strings(&["pinecone", "--multicast-interfaces", "("])).is_err()
        );
    }

    #[test]
    fn refuses_bad_seeds_and_drivers() {
        for bad in [
            &["pinecone", "--secret-key", "xyz"][..],
            &["pinecone", "--secret-key", "0102"][..],
            &["pinecone", "--io", "kqueue"][..],
        ] {
            assert!(Args::try_parse_from(strings(bad)).is_err(), "{bad:?}");
        }
    }
}
