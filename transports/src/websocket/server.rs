//! One accepted connection on the WebSocket listener: read the request,
//! then serve the manhole, refuse, or upgrade and set up a peering.

use std::net::TcpStream;
use std::time::Instant;

use tracing::debug;
use tungstenite::protocol::Role;
use tungstenite::WebSocket;

use super::bridge::bridge;
use super::http::{read_request, write_response, write_switching_protocols, Route};
use super::socket::WsSocket;
use super::websocket_config;
use crate::peering::{PeerOrigin, PeerStream};
use crate::transport::{ManholeFn, PeeringSink, Transport};

/// Serves one accepted connection; a peering that completes its handshake
/// goes to `sink`. The HTTP request must arrive within the handshake
/// timeout, and the handshake then has the same time again.
pub(crate) fn serve_connection(
    transport: &Transport,
    mut stream: TcpStream,
    origin: PeerOrigin,
    sink: &PeeringSink,
    manhole: Option<&ManholeFn>,
) {
    let deadline = Instant::now() + transport.config().handshake_timeout;
    let (route, leftover) = match read_request(&mut stream, deadline) {
        Ok(request) => request,
        Err(error) => {
            debug!(remote = %origin.uri, %error, "no usable HTTP request");
            return;
        }
    };
    let (status, body) = match route {
        Route::Upgrade { key } => return upgrade(transport, stream, &key, leftover, origin, sink),
        Route::Manhole => match manhole {
            Some(dump) => {
                let body = dump();
                let written =
                    write_response(&mut stream, "200 OK", "application/json", body.as_bytes());
                if let Err(error) = written {
                    debug!(remote = %origin.uri, %error, "cannot write the manhole response");
                }
                return;
            }
            None => ("404 Not Found", "not found\n"),
        },
        Route::NotFound => ("404 Not Found", "not found\n"),
        Route::MethodNotAllowed => ("405 Method Not Allowed", "method not allowed\n"),
        Route::BadUpgrade(reason) => ("400 Bad Request", reason),
    };
    if let Err(error) = write_response(
        &mut stream,
        status,
        "text/plain; charset=utf-8",
        body.as_bytes(),
    ) {
        debug!(remote = %origin.uri, %error, "cannot write an HTTP response");
    }
}

fn upgrade(
    transport: &Transport,
    mut stream: TcpStream,
    key: &str,
    leftover: Vec<u8>,
    origin: PeerOrigin,
    sink: &PeeringSink,
) {
    if let Err(error) = write_switching_protocols(&mut stream, key) {
        debug!(remote = %origin.uri, %error, "cannot accept the WebSocket upgrade");
        return;
    }
    let websocket = WebSocket::from_partially_read(
        WsSocket::Plain(stream),
        leftover,
        Role::Server,
        Some(websocket_config()),
    );
    let local = match bridge(websocket, origin.uri.clone()) {
        Ok(local) => local,
        Err(error) => {
            debug!(remote = %origin.uri, %error, "cannot bridge the WebSocket");
            return;
        }
    };
    if let Ok(peering) = transport.establish(PeerStream::Unix(local), origin) {
        sink(peering);
    }
}
