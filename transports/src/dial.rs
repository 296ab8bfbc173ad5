//! Dialling a peer URI: connect, upgrade for WebSocket, handshake.

use std::io;
use std::net::SocketAddr;

use thiserror::Error;

use crate::handshake::HandshakeFailure;
use crate::peering::{PeerOrigin, PeerStream, PeerType, Peering};
use crate::tcp;
use crate::transport::Transport;
use crate::uri::PeerUri;
use crate::websocket;

/// Why dialling a peer failed.
#[derive(Debug, Error)]
pub enum DialError {
    /// The host name could not be resolved.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// No TCP connection could be made (the last address tried is given).
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address tried last.
        address: SocketAddr,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The host of a `wss://` URI is not a valid TLS server name.
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    /// The TLS session could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(#[source] rustls::Error),
    /// The WebSocket upgrade (including the TLS handshake for `wss://`)
    /// failed.
    #[error("WebSocket upgrade failed: {0}")]
    WebSocket(#[source] Box<tungstenite::Error>),
    /// The WebSocket upgrade did not finish in time.
    #[error("WebSocket upgrade timed out")]
    UpgradeTimeout,
    /// The WebSocket could not be bridged to a local stream.
    #[error("cannot bridge the WebSocket: {0}")]
    Bridge(#[source] io::Error),
    /// The peering handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeFailure),
}

pub(crate) fn dial(transport: &Transport, uri: &PeerUri, zone: &str) -> Result<Peering, DialError> {
    let config = transport.config();
    let tcp = tcp::connect(uri.host(), uri.port(), config.connect_timeout)?;
    let stream = match uri {
        PeerUri::Tcp { .. } => PeerStream::Tcp(tcp),
        PeerUri::WebSocket { .. } => {
            let socket = websocket::upgrade_client(tcp, uri, config)?;
            let remote = uri.to_string();
            PeerStream::Unix(websocket::bridge(socket, remote).map_err(DialError::Bridge)?)
        }
    };
    let origin = PeerOrigin {
        peer_type: PeerType::Remote,
        zone: zone.to_owned(),
        uri: uri.to_string(),
        outbound: true,
    };
    Ok(transport.establish(stream, origin)?)
}
