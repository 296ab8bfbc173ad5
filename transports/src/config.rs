//! Settings for dialling and accepting peerings.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use crate::cidr::Cidr;
use crate::handshake::DEFAULT_HANDSHAKE_TIMEOUT;

/// Settings of a [`Transport`](crate::Transport).
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Time allowed to set up an accepted connection, counted from accept
    /// (10 s by default, the reference's handshake timeout): the HTTP
    /// request and upgrade of a WebSocket, the peering handshake, and a
    /// manhole answer (read and written) must all be done by then. Also
    /// the time a dialled peer has for the handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to establish a TCP connection when dialling (5 s, the
    /// reference's dial timeout).
    pub connect_timeout: Duration,
    /// Inbound connections being set up at once, across all listeners of a
    /// transport (256 by default); more are closed on accept, counted and
    /// logged.
    pub max_pending_handshakes: usize,
    /// Inbound connections being set up at once from one source (an IPv4
    /// address or an IPv6 /64; 8 by default), so that one host holding
    /// connections open cannot keep everyone else out.
    pub max_pending_per_source: usize,
    /// Addresses whose connections are closed on accept.
    pub deny: Vec<Cidr>,
    /// Serve `/manhole` to any client that reaches the WebSocket listener;
    /// by default only loopback clients get it (others get 404).
    pub manhole_anywhere: bool,
    /// TLS settings for `wss://` peers: by default the Mozilla root
    /// certificates, see [`default_client_tls`].
    pub tls: Arc<ClientConfig>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            connect_timeout: Duration::from_secs(5),
            max_pending_handshakes: 256,
            max_pending_per_source: 8,
            deny: Vec::new(),
            manhole_anywhere: false,
            tls: default_client_tls(),
        }
    }
}

/// TLS client settings trusting the Mozilla root certificates (as shipped
/// by `webpki-roots`), with the `ring` crypto provider.
pub fn default_client_tls() -> Arc<ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports rustls' default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_reference() {
        let config = TransportConfig::default();
        assert_eq!(config.handshake_timeout, Duration::from_secs(10));
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
        assert!(config.max_pending_per_source < config.max_pending_handshakes);
        assert!(!config.manhole_anywhere);
    }
}
