//! One accepted connection on the WebSocket listener: read the request,
//! then serve the manhole, refuse, or upgrade and set up a peering.

use std::net::TcpStream;
use std::time::Instant;

use tracing::debug;

use super::accepted::WebSocketStream;
use super::http::{read_request, write_response, write_switching_protocols, Route};
use crate::peering::{PeerOrigin, PeerStream};
use crate::transport::{ManholeFn, PeeringSink, Transport};

/// Serves one accepted connection; a peering that completes its handshake
/// goes to `sink`. Everything (the request, the answer or upgrade, and the
/// handshake) must be done by `deadline`.
pub(crate) fn serve_connection(
    transport: &Transport,
    mut stream: TcpStream,
    origin: PeerOrigin,
    deadline: Instant,
    sink: &PeeringSink,
    manhole: Option<&ManholeFn>,
) {
    let (route, leftover) = match read_request(&mut stream, deadline) {
        Ok(request) => request,
        Err(error) => {
            debug!(remote = %origin.uri, %error, "no usable HTTP request");
            return;
        }
    };
    let (status, content_type, body) = match route {
        Route::Upgrade { key } => {
            return upgrade(transport, stream, &key, leftover, origin, deadline, sink)
        }
        Route::Manhole => match manhole {
            Some(dump) => ("200 OK", "application/json", dump()),
            None => ("404 Not Found", PLAIN, "not found\n".to_owned()),
        },
        Route::NotFound => ("404 Not Found", PLAIN, "not found\n".to_owned()),
        Route::MethodNotAllowed => (
            "405 Method Not Allowed",
            PLAIN,
            "method not allowed\n".to_owned(),
        ),
        Route::BadUpgrade(reason) => ("400 Bad Request", PLAIN, reason.to_owned()),
    };
    if let Err(error) = write_response(&mut stream, deadline, status, content_type, body.as_bytes())
    {
        debug!(remote = %origin.uri, %error, "cannot write an HTTP response");
    }
}

const PLAIN: &str = "text/plain; charset=utf-8";

fn upgrade(
    transport: &Transport,
    mut stream: TcpStream,
    key: &str,
    leftover: Vec<u8>,
    origin: PeerOrigin,
    deadline: Instant,
    sink: &PeeringSink,
) {
    if let Err(error) = write_switching_protocols(&mut stream, deadline, key) {
        debug!(remote = %origin.uri, %error, "cannot accept the WebSocket upgrade");
        return;
    }
    let websocket = WebSocketStream::new(stream, leftover);
    let stream = PeerStream::WebSocket(Box::new(websocket));
    if let Ok(peering) = transport.establish_before(stream, origin, deadline) {
        sink(peering);
    }
}
