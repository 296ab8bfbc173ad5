//! Our identity and settings, and the entry points that produce peerings.

use std::fmt;
use std::io;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::PublicKey;
use tracing::info;

use crate::admission::{Admission, AdmissionStats, PeerGate};
use crate::config::TransportConfig;
use crate::dial::{self, DialError};
use crate::handshake::{exchange_handshake_before, HandshakeFailure};
use crate::handshake_stats::{HandshakeStats, HandshakeTally};
use crate::inbound;
use crate::listener::Listener;
use crate::peering::{PeerOrigin, PeerStream, Peering};
use crate::uri::PeerUri;

/// Where listeners deliver the peerings they accept, from their setup
/// threads.
pub type PeeringSink = Arc<dyn Fn(Peering) + Send + Sync>;

/// Produces the JSON body served at `/manhole` (the node's state dump).
pub type ManholeFn = Arc<dyn Fn() -> String + Send + Sync>;

/// Dials, listens and runs handshakes as one node. Cheap to clone: clones
/// share the key, the settings and the admission of inbound connections.
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

struct Shared {
    signing_key: SigningKey,
    public_key: PublicKey,
    config: TransportConfig,
    admission: Admission,
    handshakes: HandshakeTally,
}

impl Transport {
    /// A transport for the node with this key.
    pub fn new(signing_key: SigningKey, config: TransportConfig) -> Transport {
        Transport::gated(signing_key, config, PeerGate::open())
    }

    /// A transport that refuses inbound connections while `gate` is full.
    pub(crate) fn gated(
        signing_key: SigningKey,
        config: TransportConfig,
        gate: PeerGate,
    ) -> Transport {
        let admission = Admission::new(
            config.max_pending_handshakes,
            config.max_pending_per_source,
            config.deny.clone(),
            gate,
        );
        Transport {
            shared: Arc::new(Shared {
                public_key: PublicKey::of(&signing_key),
                signing_key,
                config,
                admission,
                handshakes: HandshakeTally::default(),
            }),
        }
    }

    /// Our public key, as presented in handshakes.
    pub fn public_key(&self) -> PublicKey {
        self.shared.public_key
    }

    /// The settings in force.
    pub fn config(&self) -> &TransportConfig {
        &self.shared.config
    }

    /// Runs the handshake on a stream connected by other means, blocking
    /// for at most the handshake timeout.
    pub fn establish(
        &self,
        stream: PeerStream,
        origin: PeerOrigin,
    ) -> Result<Peering, HandshakeFailure> {
        let deadline = self.setup_deadline(Instant::now());
        self.establish_before(stream, origin, deadline)
    }

    /// The instant by which a connection accepted at `accepted` must be set
    /// up.
    pub(crate) fn setup_deadline(&self, accepted: Instant) -> Instant {
        let timeout = self.shared.config.handshake_timeout;
        accepted
            .checked_add(timeout)
            .unwrap_or_else(|| accepted + std::time::Duration::from_secs(86_400 * 365))
    }

    /// [`establish`](Self::establish) under a deadline fixed earlier.
    pub(crate) fn establish_before(
        &self,
        stream: PeerStream,
        origin: PeerOrigin,
        deadline: Instant,
    ) -> Result<Peering, HandshakeFailure> {
        let result = self.handshake(stream, deadline);
        self.shared.handshakes.record(&result);
        match &result {
            Ok((_, key)) => info!(
                uri = %origin.uri, zone = %origin.zone, outbound = origin.outbound, peer = %key,
                "peering connected"
            ),
            Err(error) => info!(
                uri = %origin.uri, zone = %origin.zone, outbound = origin.outbound, %error,
                "handshake failed"
            ),
        }
        let (stream, public_key) = result?;
        Ok(Peering {
            stream,
            public_key,
            origin,
        })
    }

    fn handshake(
        &self,
        mut stream: PeerStream,
        deadline: Instant,
    ) -> Result<(PeerStream, PublicKey), HandshakeFailure> {
        stream
            .set_nonblocking(false)
            .map_err(HandshakeFailure::Io)?;
        let key = exchange_handshake_before(
            &mut stream,
            &self.shared.signing_key,
            deadline,
            self.shared.config.handshake_timeout,
        )?;
        Ok((stream, key))
    }

    /// Dials `uri` and runs the handshake, blocking for at most the connect
    /// timeout plus (for WebSocket) the upgrade and the handshake timeouts.
    /// The peering is outbound, of type remote, in `zone`, with the
    /// canonical form of `uri` as its URI.
    pub fn dial(&self, uri: &PeerUri, zone: &str) -> Result<Peering, DialError> {
        dial::dial(self, uri, zone)
    }

    /// Listens for TCP peers on `address` (port 0 picks a free port). Each
    /// accepted connection gets `TCP_NODELAY` and a handshake on its own
    /// thread; peerings that succeed go to `sink`.
    pub fn listen_tcp<A: ToSocketAddrs>(
        &self,
        address: A,
        sink: PeeringSink,
    ) -> io::Result<Listener> {
        inbound::listen_tcp(self, address, sink)
    }

    /// Listens for WebSocket peers on `address` over plain HTTP, like the
    /// reference's `-listenws`: an upgrade on any path but `/manhole`
    /// becomes a peering (delivered to `sink`), each binary message
    /// carrying stream bytes. `GET /manhole` answers with `manhole`'s JSON
    /// to loopback clients (to any client with
    /// [`manhole_anywhere`](TransportConfig::manhole_anywhere)), or 404 when
    /// it is `None`; anything else gets 404.
    pub fn listen_websocket<A: ToSocketAddrs>(
        &self,
        address: A,
        sink: PeeringSink,
        manhole: Option<ManholeFn>,
    ) -> io::Result<Listener> {
        inbound::listen_websocket(self, address, sink, manhole)
    }

    pub(crate) fn admission(&self) -> &Admission {
        &self.shared.admission
    }

    /// How many inbound connections were admitted and refused, by reason.
    pub fn admission_stats(&self) -> AdmissionStats {
        self.shared.admission.stats()
    }

    /// How many handshakes succeeded and failed, by reason.
    pub fn handshake_stats(&self) -> HandshakeStats {
        self.shared.handshakes.stats()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("public_key", &self.shared.public_key)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
