//! Dialling `wss://`: TLS with a configurable trust store, the bridge and
//! the handshake over it.

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use common::{exchange, key, pattern, PATIENCE};
use pinecone_engine::wire::{Handshake, PublicKey, HANDSHAKE_LEN};
use pinecone_transports::{DialError, PeerUri, Transport, TransportConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use tungstenite::{Bytes, Message, WebSocket};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for 127.0.0.1, the server's TLS settings for
/// it, and client settings that trust it.
fn tls_pair() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let private =
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], private)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

type TlsWebSocket = WebSocket<StreamOwned<ServerConnection, TcpStream>>;

/// Accepts one TLS WebSocket, does the peering handshake as `seed` by
/// hand, then echoes every binary message back.
fn echo_server(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    seed: u8,
) -> thread::JoinHandle<PublicKey> {
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        let session = ServerConnection::new(tls).unwrap();
        let mut websocket: TlsWebSocket =
            tungstenite::accept(StreamOwned::new(session, tcp)).unwrap();
        let ours = key(seed);
        websocket
            .send(Message::Binary(Bytes::copy_from_slice(
                Handshake::new(&ours).as_bytes(),
            )))
            .unwrap();
        let mut theirs = Vec::new();
        while theirs.len() < HANDSHAKE_LEN {
            match websocket.read().unwrap() {
                Message::Binary(payload) => theirs.extend_from_slice(&payload),
                other => panic!("unexpected message {other:?}"),
            }
        }
        let rest = theirs.split_off(HANDSHAKE_LEN);
        let peer = Handshake::from_bytes(&theirs)
            .unwrap()
            .verify(&PublicKey::of(&ours))
            .unwrap();
        if !rest.is_empty() {
            websocket.send(Message::Binary(rest.into())).unwrap();
        }
        loop {
            match websocket.read() {
                Ok(Message::Binary(payload)) => websocket.send(Message::Binary(payload)).unwrap(),
                Ok(_) => {}
                Err(_) => return peer,
            }
        }
    })
}

#[test]
fn dials_wss_and_carries_bytes_through_tls() {
    let (server_tls, client_tls) = tls_pair();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri: PeerUri = format!("wss://{}/pinecone", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let server = echo_server(listener, server_tls, 1);

    let config = TransportConfig {
        tls: client_tls,
        ..TransportConfig::default()
    };
    let client = Transport::new(key(2), config);
    let peering = client.dial(&uri, "static").unwrap();
    assert_eq!(peering.public_key, PublicKey::of(&key(1)));

    let data = pattern(30, 256 * 1024);
    let echoed = exchange(
        peering.stream.try_clone().unwrap(),
        peering.stream,
        data.clone(),
    );
    assert!(echoed == data, "echoed bytes differ");
    assert_eq!(server.join().unwrap(), PublicKey::of(&key(2)));
}

#[test]
fn an_untrusted_certificate_fails_the_upgrade() {
    let (server_tls, _) = tls_pair();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri: PeerUri = format!("wss://{}/", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let session = ServerConnection::new(server_tls).unwrap();
        let _ = tungstenite::accept(StreamOwned::new(session, tcp));
    });
    // The default trust store holds public roots only.
    let error = common::transport(3).dial(&uri, "").unwrap_err();
    assert!(matches!(error, DialError::WebSocket(_)), "{error:?}");
    server.join().unwrap();
}
