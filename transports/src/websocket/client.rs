//! Dialling `ws://` and `wss://`: TLS when asked, then the HTTP upgrade.

use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use tungstenite::handshake::HandshakeError;
use tungstenite::WebSocket;

use super::socket::{UnvectoredTcp, WsSocket};
use super::websocket_config;
use crate::config::TransportConfig;
use crate::dial::DialError;
use crate::uri::PeerUri;

/// Upgrades a connected TCP stream to a WebSocket for `uri`, with each read
/// and write of the TLS and HTTP exchange bounded by the handshake timeout.
pub(crate) fn upgrade_client(
    tcp: TcpStream,
    uri: &PeerUri,
    config: &TransportConfig,
) -> Result<WebSocket<WsSocket>, DialError> {
    let io_error = |error| DialError::WebSocket(Box::new(tungstenite::Error::Io(error)));
    tcp.set_read_timeout(Some(config.handshake_timeout))
        .map_err(io_error)?;
    tcp.set_write_timeout(Some(config.handshake_timeout))
        .map_err(io_error)?;
    let socket = match uri {
        PeerUri::WebSocket {
            secure: true, host, ..
        } => {
            let name = ServerName::try_from(host.clone())
                .map_err(|_| DialError::ServerName(host.clone()))?;
            let session =
                ClientConnection::new(Arc::clone(&config.tls), name).map_err(DialError::Tls)?;
            WsSocket::Tls(Box::new(StreamOwned::new(session, UnvectoredTcp(tcp))))
        }
        _ => WsSocket::Plain(tcp),
    };
    match tungstenite::client::client_with_config(uri.to_string(), socket, Some(websocket_config()))
    {
        Ok((websocket, _response)) => Ok(websocket),
        Err(HandshakeError::Interrupted(_)) => Err(DialError::UpgradeTimeout),
        Err(HandshakeError::Failure(error)) => Err(DialError::WebSocket(Box::new(error))),
    }
}
