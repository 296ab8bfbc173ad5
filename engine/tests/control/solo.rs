//! One router driven by hand, with fake peers whose keys the test holds.

use ed25519_dalek::SigningKey;
use pinecone_engine::control::{
    Event, Millis, PeerError, PeerInfo, PeerType, Port, Router, RouterConfig, Transmit,
};
use pinecone_engine::wire::PublicKey;

use pinecone_netkit::frames::{drain, pk};
use pinecone_netkit::keys::sorted_keys;
use pinecone_netkit::network::EPOCH_MS;

/// Index of the router's own key in [`Solo::keys`]: keys above it are
/// stronger, keys below weaker.
pub const ME: usize = 4;

/// A router under test and ten keys sorted weakest first.
pub struct Solo {
    pub router: Router,
    pub keys: Vec<SigningKey>,
    pub now: Millis,
}

impl Solo {
    /// A router with keepalives and broadcasts off (so tests see only what
    /// they provoke) unless `config` says otherwise.
    pub fn new(config: RouterConfig) -> Solo {
        let keys = sorted_keys(10, 77);
        let now = Millis(EPOCH_MS);
        let router = Router::new(keys[ME].clone(), config, now);
        let mut solo = Solo { router, keys, now };
        solo.out();
        solo.events();
        solo
    }

    pub fn quiet() -> Solo {
        Solo::new(RouterConfig {
            keepalives: false,
            wakeup_broadcasts: false,
            ..RouterConfig::default()
        })
    }

    pub fn key(&self, index: usize) -> PublicKey {
        pk(&self.keys[index])
    }

    pub fn own(&self) -> PublicKey {
        self.key(ME)
    }

    /// Attaches fake peer `index` with the given medium.
    pub fn add_typed(&mut self, index: usize, peer_type: PeerType) -> Port {
        let info = PeerInfo {
            key: self.key(index),
            peer_type,
            zone: String::new(),
            uri: String::new(),
        };
        self.router.add_peer(info, self.now)
    }

    /// Attaches fake peer `index` as a remote peer.
    pub fn add(&mut self, index: usize) -> Port {
        self.add_typed(index, PeerType::Remote)
    }

    /// Feeds `frame` as received on `port` now.
    pub fn feed(&mut self, port: Port, frame: &[u8]) -> Result<(), PeerError> {
        self.router.handle_frame(port, frame, self.now)
    }

    /// What the router queued since the last call.
    pub fn out(&mut self) -> Vec<Transmit> {
        drain(&mut self.router)
    }

    /// The events since the last call.
    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.router.poll_event()).collect()
    }

    /// Moves the clock on by `ms` and runs every timer due on the way, in
    /// order, as a runtime would.
    pub fn advance(&mut self, ms: u64) {
        let until = Millis(self.now.0 + ms);
        while let Some(due) = self.router.poll_timeout() {
            if due > until {
                break;
            }
            self.now = self.now.max(due);
            self.router.handle_timeout(self.now);
        }
        self.now = until;
    }
}
