//! The paths a batch can be measured through: a `pinecone` daemon between
//! two peerings, or a zero-work relay between two plain streams.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::PublicKey;

use crate::daemon::Daemon;
use crate::peer::Peering;
use crate::relay::{self, RelayKind};
use crate::scraper::Scraper;
use crate::sink::{count_traffic, FrameCount};

/// Seed of the sink peering's key (the same with every daemon, so that every
/// path carries the same bytes).
const SINK_SEED: [u8; 32] = [0x51; 32];
/// Seed of the generator peering's key.
const GENERATOR_SEED: [u8; 32] = [0x47; 32];

/// One path under test.
pub struct Target {
    /// The name in reports: the daemon's label and I/O driver, or the relay.
    pub name: String,
    /// The generator's side of the path.
    pub writer: Arc<Mutex<TcpStream>>,
    /// What arrives at the far end.
    pub count: FrameCount,
    /// The daemon, for a path through one.
    pub node: Option<NodePath>,
    /// The relay's kind, for a relay.
    pub relay: Option<RelayKind>,
}

/// The parts of a path through a daemon that a relay does not have.
pub struct NodePath {
    /// The daemon process.
    pub daemon: Daemon,
    /// The daemon's label (which binary).
    pub label: String,
    /// The daemon's I/O driver.
    pub io: String,
    /// What fetches its `/metrics`, when it is scraped.
    pub scraper: Option<Scraper>,
    /// The generator and sink peerings, open for the whole run.
    _peerings: (Peering, Peering),
}

impl Target {
    /// A daemon started from `binary` with `args`, with a sink and a
    /// generator peering; its `/metrics` fetched every `scrape` interval
    /// when there is one (and `args` has `--metrics`).
    pub fn node(
        binary: &Path,
        label: &str,
        io: &str,
        args: &[String],
        scrape: Option<std::time::Duration>,
    ) -> Result<Target, String> {
        let daemon = Daemon::spawn(binary, args)?;
        let scraper = scrape
            .zip(daemon.metrics)
            .map(|(interval, address)| Scraper::start(address, interval));
        let sink = Peering::open(daemon.address, &SigningKey::from_bytes(&SINK_SEED))?;
        let generator = Peering::open(daemon.address, &SigningKey::from_bytes(&GENERATOR_SEED))?;
        let count = count_traffic(sink.reader.try_clone().map_err(|e| e.to_string())?);
        // Drain what the node sends the generator (announcements, keepalives).
        count_traffic(generator.reader.try_clone().map_err(|e| e.to_string())?);
        Ok(Target {
            name: format!("{label} {io}"),
            writer: Arc::clone(&generator.writer),
            count,
            relay: None,
            node: Some(NodePath {
                daemon,
                label: label.to_owned(),
                io: io.to_owned(),
                scraper,
                _peerings: (generator, sink),
            }),
        })
    }

    /// A relay of `kind` in front of a counting sink.
    pub fn relay(kind: RelayKind) -> Result<Target, String> {
        let sink = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let relay = relay::start(sink.local_addr().map_err(|e| e.to_string())?, kind)?;
        let generator = TcpStream::connect(relay).map_err(|e| format!("connect relay: {e}"))?;
        generator.set_nodelay(true).map_err(|e| e.to_string())?;
        let (delivered, _) = sink.accept().map_err(|e| format!("relay sink: {e}"))?;
        Ok(Target {
            name: kind.name().to_owned(),
            writer: Arc::new(Mutex::new(generator)),
            count: count_traffic(delivered),
            node: None,
            relay: Some(kind),
        })
    }

    /// The node's CPU seconds so far, for a path through a daemon.
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.node.as_ref()?.daemon.cpu_seconds().ok()
    }
}

/// The keys every path's frames are built from: the generator's and the
/// sink's (the same for every daemon, as the seeds are).
pub fn peer_keys() -> (PublicKey, PublicKey) {
    (
        PublicKey::of(&SigningKey::from_bytes(&GENERATOR_SEED)),
        PublicKey::of(&SigningKey::from_bytes(&SINK_SEED)),
    )
}
