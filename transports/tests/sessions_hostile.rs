//! Hostile input to a node's session endpoint, from a hand-driven QUIC
//! peer on another node: garbage datagrams, handshakes with the wrong
//! ALPN, without a client certificate, with a certificate not matching
//! the source key, with a chain of two certificates, a server whose
//! certificate is not the key dialled, and a flood of connection
//! attempts. Each is refused and counted, and the endpoint keeps serving
//! honest nodes.

mod node_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use node_support::{all_reach_all, eventually, shape, Medium, CONVERGENCE};
use pinecone_engine::wire::PublicKey;
use pinecone_transports::Node;
use quinn_proto::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn_proto::{
    ClientConfig, ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig, ServerConfig,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

const PROTOCOL: &str = "matrix";

/// A certificate for the ed25519 key of `seed`, signed by `issuer` (seed
/// and certificate) or by itself.
fn certificate(
    seed: u8,
    issuer: Option<(u8, &rcgen::Certificate)>,
) -> (rcgen::Certificate, PrivateKeyDer<'static>) {
    let pair = key_pair(seed);
    let params = rcgen::CertificateParams::new(vec!["x".to_owned()]).unwrap();
    let certificate = match issuer {
        None => params.self_signed(&pair).unwrap(),
        Some((issuer_seed, issuer_cert)) => params
            .signed_by(&pair, issuer_cert, &key_pair(issuer_seed))
            .unwrap(),
    };
    (certificate, PrivateKeyDer::Pkcs8(pkcs8(seed)))
}

fn pkcs8(seed: u8) -> PrivatePkcs8KeyDer<'static> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[seed; 32]);
    PrivatePkcs8KeyDer::from(der)
}

fn key_pair(seed: u8) -> rcgen::KeyPair {
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8(seed), &rcgen::PKCS_ED25519).unwrap()
}

/// Accepts any server certificate: the tests are about the other side.
#[derive(Debug)]
struct AnyServer;

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration presenting `chain` (none when empty) and
/// offering `alpn`.
fn client(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &str,
) -> ClientConfig {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer));
    let mut tls = if chain.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_auth_cert(chain, key).unwrap()
    };
    tls.enable_sni = false;
    tls.alpn_protocols = vec![alpn.as_bytes().to_vec()];
    ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).unwrap()))
}

/// A server configuration presenting `chain`, asking for no client
/// certificate.
fn server(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> ServerConfig {
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    tls.alpn_protocols = vec![PROTOCOL.as_bytes().to_vec()];
    ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls).unwrap()))
}

/// How a hand-driven connection ended up.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Established and still up after a grace period.
    Up,
    /// Closed (or never established), with the reason.
    Lost(String),
}

/// A QUIC endpoint driven by hand over a node without sessions, whose
/// datagrams all come and go through the node's datagram calls.
struct Raw<'a> {
    node: &'a Node,
    peer: PublicKey,
    endpoint: Endpoint,
    conns: HashMap<ConnectionHandle, quinn_proto::Connection>,
    buf: Vec<u8>,
}

const FAKE: &str = "[fd00::1]:1";

impl<'a> Raw<'a> {
    fn new(node: &'a Node, peer: PublicKey, server: Option<ServerConfig>) -> Raw<'a> {
        let mut config = EndpointConfig::default();
        config.max_udp_payload_size(1452).unwrap();
        Raw {
            node,
            peer,
            endpoint: Endpoint::new(Arc::new(config), server.map(Arc::new), false, None),
            conns: HashMap::new(),
            buf: Vec::new(),
        }
    }

    fn connect(&mut self, config: ClientConfig) -> ConnectionHandle {
        let address: SocketAddr = FAKE.parse().unwrap();
        let (ch, conn) = self
            .endpoint
            .connect(Instant::now(), config, address, "pinecone")
            .unwrap();
        self.conns.insert(ch, conn);
        ch
    }

    /// Moves datagrams both ways for `period`; returns the connection
    /// events seen.
    fn run(&mut self, period: Duration) -> Vec<quinn_proto::Event> {
        let deadline = Instant::now() + period;
        let mut seen = Vec::new();
        let address: SocketAddr = FAKE.parse().unwrap();
        while Instant::now() < deadline {
            let now = Instant::now();
            for (&ch, conn) in &mut self.conns {
                if conn.poll_timeout().is_some_and(|at| at <= now) {
                    conn.handle_timeout(now);
                }
                while let Some(event) = conn.poll_endpoint_events() {
                    if let Some(reply) = self.endpoint.handle_event(ch, event) {
                        conn.handle_event(reply);
                    }
                }
                while let Some(event) = conn.poll() {
                    seen.push(event);
                }
                loop {
                    self.buf.clear();
                    let Some(transmit) = conn.poll_transmit(now, 1, &mut self.buf) else {
                        break;
                    };
                    let _ = self.node.send(self.peer, &self.buf[..transmit.size]);
                }
            }
            let Some(datagram) = self.node.recv_timeout(Duration::from_millis(10)) else {
                continue;
            };
            if datagram.source != self.peer {
                continue;
            }
            self.buf.clear();
            let data = BytesMut::from(&datagram.payload[..]);
            match self
                .endpoint
                .handle(now, address, None, None, data, &mut self.buf)
            {
                Some(DatagramEvent::ConnectionEvent(ch, event)) => {
                    if let Some(conn) = self.conns.get_mut(&ch) {
                        conn.handle_event(event);
                    }
                }
                Some(DatagramEvent::NewConnection(incoming)) => {
                    let mut response = Vec::new();
                    if let Ok((ch, conn)) = self.endpoint.accept(incoming, now, &mut response, None)
                    {
                        self.conns.insert(ch, conn);
                    }
                }
                Some(DatagramEvent::Response(transmit)) => {
                    let _ = self.node.send(self.peer, &self.buf[..transmit.size]);
                }
                None => {}
            }
        }
        seen
    }

    /// Runs until connection `ch` is established and stays up for two
    /// seconds, or is lost.
    fn outcome(&mut self, ch: ConnectionHandle) -> Outcome {
        let deadline = Instant::now() + CONVERGENCE;
        let mut up_since = None;
        while Instant::now() < deadline {
            for event in self.run(Duration::from_millis(100)) {
                match event {
                    quinn_proto::Event::Connected => up_since = Some(Instant::now()),
                    quinn_proto::Event::ConnectionLost { reason } => {
                        return Outcome::Lost(reason.to_string())
                    }
                    _ => {}
                }
            }
            if self.conns.get(&ch).is_none_or(|conn| conn.is_closed()) {
                return Outcome::Lost("closed".to_owned());
            }
            if up_since.is_some_and(|at| at.elapsed() > Duration::from_secs(2)) {
                return Outcome::Up;
            }
        }
        Outcome::Lost("timed out".to_owned())
    }
}

/// A node with sessions listening for [`PROTOCOL`] and an attacker node
/// without sessions (seed 2), peered and routing to each other.
fn target_and_attacker(first_seed: u8) -> Vec<Node> {
    let nodes = shape(first_seed, 2, Medium::Tcp, false, node_support::test_io());
    assert!(all_reach_all(&nodes, CONVERGENCE));
    nodes[0].listen_sessions(PROTOCOL).unwrap();
    nodes
}

#[test]
fn client_handshakes_are_checked_against_the_source_key() {
    let nodes = target_and_attacker(110);
    let (target, attacker) = (&nodes[0], &nodes[1]);
    let mut raw = Raw::new(attacker, target.public_key(), None);
    // The attacker's own key (seed 111) in one certificate: accepted. This
    // shows the hand-driven client can pass, so the refusals below are
    // the target's doing.
    let (own, own_key) = certificate(111, None);
    let good = raw.connect(client(
        vec![own.der().clone()],
        own_key.clone_key(),
        PROTOCOL,
    ));
    assert_eq!(raw.outcome(good), Outcome::Up);
    assert!(eventually(CONVERGENCE, || target.session_count() == 1));
    let failed = |target: &Node| target.session_stats().failed_handshakes;
    let cases: Vec<(&str, ClientConfig)> = vec![
        ("another key's certificate", {
            let (other, other_key) = certificate(200, None);
            client(vec![other.der().clone()], other_key, PROTOCOL)
        }),
        (
            "no certificate",
            client(Vec::new(), own_key.clone_key(), PROTOCOL),
        ),
        ("a chain of two", {
            let (issuer, _) = certificate(201, None);
            let (leaf, leaf_key) = certificate(111, Some((201, &issuer)));
            client(
                vec![leaf.der().clone(), issuer.der().clone()],
                leaf_key,
                PROTOCOL,
            )
        }),
        (
            "the wrong ALPN",
            client(vec![own.der().clone()], own_key.clone_key(), "other"),
        ),
    ];
    for (index, (what, config)) in cases.into_iter().enumerate() {
        let expected = index as u64 + 1;
        let ch = raw.connect(config);
        assert!(
            matches!(raw.outcome(ch), Outcome::Lost(_)),
            "a client with {what} was not refused"
        );
        assert!(
            eventually(CONVERGENCE, || failed(target) >= expected),
            "a client with {what} was not counted"
        );
    }
    assert_eq!(target.session_count(), 1, "only the honest session is open");
}

#[test]
fn a_server_whose_certificate_is_not_the_key_dialled_is_refused() {
    let nodes = shape(120, 2, Medium::Tcp, false, node_support::test_io());
    assert!(all_reach_all(&nodes, CONVERGENCE));
    let (dialler, attacker) = (&nodes[0], &nodes[1]);
    let (issuer, _) = certificate(202, None);
    let (leaf, leaf_key) = certificate(121, Some((202, &issuer)));
    let (stranger, stranger_key) = certificate(203, None);
    let servers = [
        (
            "another key's certificate",
            vec![stranger.der().clone()],
            stranger_key,
        ),
        (
            "a chain of two",
            vec![leaf.der().clone(), issuer.der().clone()],
            leaf_key,
        ),
    ];
    for (round, (what, chain, key)) in servers.into_iter().enumerate() {
        let mut raw = Raw::new(attacker, dialler.public_key(), Some(server(chain, key)));
        let dial = std::thread::scope(|scope| {
            let dial = scope.spawn(|| {
                dialler.dial_session(
                    attacker.public_key(),
                    PROTOCOL,
                    Some(Duration::from_secs(20)),
                )
            });
            while !dial.is_finished() {
                raw.run(Duration::from_millis(100));
            }
            dial.join().unwrap()
        });
        assert!(dial.is_err(), "a server with {what} was accepted");
        assert!(
            dialler.session_stats().failed_dials > round as u64,
            "{what} not counted"
        );
    }
    assert_eq!(dialler.session_count(), 0);
}

#[test]
fn garbage_and_floods_are_refused_and_honest_nodes_still_get_through() {
    let nodes = target_and_attacker(130);
    let (target, attacker) = (&nodes[0], &nodes[1]);
    // Garbage of every length, with and without QUIC's header bits.
    let mut state = 0x1234_5678u32;
    for i in 0..2_000usize {
        let len = 1 + i % 1_500;
        let mut garbage: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        if i % 2 == 0 {
            garbage[0] |= 0xc0;
        }
        let _ = attacker.send(target.public_key(), &garbage);
    }
    // A flood of connection attempts that never finish their handshakes.
    let mut raw = Raw::new(attacker, target.public_key(), None);
    let (own, own_key) = certificate(131, None);
    for _ in 0..300 {
        raw.connect(client(
            vec![own.der().clone()],
            own_key.clone_key(),
            PROTOCOL,
        ));
    }
    // One round of sends: every first flight goes out, nothing after.
    let now = Instant::now();
    let mut buf = Vec::new();
    for conn in raw.conns.values_mut() {
        buf.clear();
        if let Some(transmit) = conn.poll_transmit(now, 1, &mut buf) {
            let _ = attacker.send(target.public_key(), &buf[..transmit.size]);
        }
    }
    assert!(
        eventually(CONVERGENCE, || {
            let stats = target.session_stats();
            stats.retries + stats.refused_busy >= 200
        }),
        "{:?}",
        target.session_stats()
    );
    // An honest node still opens a session with the target.
    let honest = node_support::node(132);
    let address = target.listen_tcp("127.0.0.1:0").unwrap();
    honest.connect(&format!("tcp://{address}")).unwrap();
    let mut stream = honest
        .dial_session(target.public_key(), PROTOCOL, Some(CONVERGENCE))
        .expect("an honest dial");
    use std::io::{Read, Write};
    stream.write_all(b"ping").unwrap();
    let mut accepted = target.accept_session(PROTOCOL, Some(CONVERGENCE)).unwrap();
    let mut ping = [0u8; 4];
    accepted.read_exact(&mut ping).unwrap();
    assert_eq!(&ping, b"ping");
    assert_eq!(accepted.remote_key(), honest.public_key());
}

#[test]
fn a_flood_of_streams_past_the_accept_backlog_is_refused_and_counted() {
    let io = node_support::test_io();
    let mut config = node_support::test_config();
    config.io = io;
    config.sessions.accept_backlog = 16;
    let target = node_support::node_with(140, config);
    let address = target.listen_tcp("127.0.0.1:0").unwrap();
    let attacker = node_support::node(141);
    attacker.connect(&format!("tcp://{address}")).unwrap();
    assert!(node_support::reaches(&attacker, &target, CONVERGENCE));
    assert!(node_support::reaches(&target, &attacker, CONVERGENCE));
    target.listen_sessions(PROTOCOL).unwrap();
    let mut raw = Raw::new(&attacker, target.public_key(), None);
    let (own, own_key) = certificate(141, None);
    let ch = raw.connect(client(vec![own.der().clone()], own_key, PROTOCOL));
    assert_eq!(raw.outcome(ch), Outcome::Up);
    // Nobody accepts: streams past the backlog are stopped and reset,
    // which gives the attacker its stream credit back to open more.
    let mut opened = 0;
    let deadline = Instant::now() + CONVERGENCE;
    while opened < 400 && Instant::now() < deadline {
        if let Some(conn) = raw.conns.get_mut(&ch) {
            while let Some(id) = conn.streams().open(quinn_proto::Dir::Bi) {
                let _ = conn.send_stream(id).write(b"x");
                let _ = conn.send_stream(id).finish();
                opened += 1;
            }
        }
        raw.run(Duration::from_millis(20));
    }
    assert!(
        opened > 128,
        "stream credit never came back: {opened} opened"
    );
    assert!(
        eventually(CONVERGENCE, || {
            target.session_stats().refused_streams >= 100
        }),
        "{:?}",
        target.session_stats()
    );
    // The backlog holds what it can; the session stays up.
    assert_eq!(target.session_count(), 1);
    let first = target.accept_session(PROTOCOL, Some(CONVERGENCE)).unwrap();
    assert_eq!(first.remote_key(), attacker.public_key());
}
