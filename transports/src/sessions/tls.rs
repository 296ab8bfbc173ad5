//! The QUIC and TLS settings of sessions: one endpoint configuration, a
//! client configuration per dial (bound to the key dialled and the
//! protocol) and a server configuration per incoming attempt (bound to
//! the attempt's overlay source key and the protocols listened for).

use std::sync::Arc;

use pinecone_engine::wire::PublicKey;
use quinn_proto::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn_proto::{
    ClientConfig, EndpointConfig, IdleTimeout, ServerConfig, TransportConfig, VarInt,
};
use rand_core::{OsRng, RngCore};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::version::TLS13;

use super::certificate::Identity;
use super::config::{SessionConfig, MAX_QUIC_DATAGRAM};
use super::verify::{DialledKey, SourceKey};

/// The server name given to the TLS client. Never sent (SNI is off): the
/// hex key is longer than a DNS label, so no real name fits; the server's
/// certificate is checked against the key dialled instead.
pub(crate) const PLACEHOLDER_SERVER_NAME: &str = "pinecone";

/// Everything needed to start session handshakes.
pub(crate) struct Tls {
    provider: Arc<CryptoProvider>,
    certified: Arc<CertifiedKey>,
    transport: Arc<TransportConfig>,
    /// Protects Retry tokens; shared by every incoming attempt's
    /// configuration, so that a token made under one is valid under the
    /// next.
    token_key: Arc<ring::hkdf::Prk>,
    config: SessionConfig,
}

impl Tls {
    /// The settings for a node with `identity`.
    pub(crate) fn new(identity: &Identity, config: &SessionConfig) -> Result<Tls, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = Arc::new(CertifiedKey::from_der(
            vec![identity.certificate.clone()],
            identity.private_key(),
            &provider,
        )?);
        let mut secret = [0u8; 64];
        OsRng.fill_bytes(&mut secret);
        let token_key =
            Arc::new(ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[]).extract(&secret));
        Ok(Tls {
            provider,
            certified,
            transport: Arc::new(transport_config(config)),
            token_key,
            config: config.clone(),
        })
    }

    /// The endpoint's settings: datagrams of at most
    /// [`MAX_QUIC_DATAGRAM`] bytes.
    pub(crate) fn endpoint_config() -> EndpointConfig {
        let mut config = EndpointConfig::default();
        // Within quinn's bounds (1,200 to 65,527), so this cannot fail.
        let _ = config.max_udp_payload_size(MAX_QUIC_DATAGRAM);
        config
    }

    /// The settings of a dial to `key` for `protocol`.
    pub(crate) fn client(
        &self,
        key: PublicKey,
        protocol: &str,
    ) -> Result<ClientConfig, rustls::Error> {
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(DialledKey(key)))
            .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(Arc::clone(
                &self.certified,
            ))));
        tls.enable_sni = false;
        tls.resumption = Resumption::disabled();
        tls.alpn_protocols = vec![protocol.as_bytes().to_vec()];
        let quic = QuicClientConfig::try_from(tls).map_err(|_| no_initial_suite())?;
        let mut client = ClientConfig::new(Arc::new(quic));
        client.transport_config(Arc::clone(&self.transport));
        Ok(client)
    }

    /// The settings of an incoming attempt whose datagrams come from
    /// `source`, for any of `protocols`.
    pub(crate) fn server(
        &self,
        source: PublicKey,
        protocols: &[String],
    ) -> Result<ServerConfig, rustls::Error> {
        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&TLS13])?
            .with_client_cert_verifier(Arc::new(SourceKey(source)))
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(Arc::clone(
                &self.certified,
            ))));
        tls.alpn_protocols = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        tls.send_tls13_tickets = 0;
        let quic = QuicServerConfig::try_from(tls).map_err(|_| no_initial_suite())?;
        let mut server = ServerConfig::new(Arc::new(quic), self.token_key.clone());
        server
            .transport_config(Arc::clone(&self.transport))
            .migration(false)
            .max_incoming(self.config.max_incoming_handshakes.max(1))
            .incoming_buffer_size(self.config.incoming_buffer)
            .incoming_buffer_size_total(self.config.incoming_buffer_total);
        server.validation_token.sent(0);
        Ok(server)
    }
}

fn no_initial_suite() -> rustls::Error {
    rustls::Error::General("no TLS 1.3 cipher suite usable for QUIC's initial packets".to_owned())
}

/// The transport settings of every session: the reference's idle timeout
/// and datagram size, no path-MTU discovery, no segmentation offload (each
/// datagram is one overlay frame), explicit windows and stream limits.
fn transport_config(config: &SessionConfig) -> TransportConfig {
    let mut transport = TransportConfig::default();
    let idle = IdleTimeout::try_from(config.idle_timeout)
        .unwrap_or_else(|_| IdleTimeout::from(VarInt::MAX));
    transport
        .max_idle_timeout(Some(idle))
        .keep_alive_interval(config.keep_alive)
        .initial_mtu(MAX_QUIC_DATAGRAM)
        .min_mtu(MAX_QUIC_DATAGRAM)
        .mtu_discovery_config(None)
        .enable_segmentation_offload(false)
        .max_concurrent_bidi_streams(VarInt::from_u32(config.max_streams_per_session))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .stream_receive_window(VarInt::from_u32(config.stream_receive_window))
        .receive_window(VarInt::from_u32(config.session_receive_window))
        .send_window(config.send_window)
        .datagram_receive_buffer_size(None);
    transport
}
