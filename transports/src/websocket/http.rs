//! The little HTTP the WebSocket listener speaks: reading one request head
//! under a deadline, routing it, and writing the few responses it sends.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use thiserror::Error;
use tungstenite::handshake::derive_accept_key;

/// The largest request head accepted.
const MAX_HEAD_LEN: usize = 16 * 1024;
/// The most headers accepted in a request.
const MAX_HEADERS: usize = 64;
/// The path that serves the state dump.
const MANHOLE_PATH: &str = "/manhole";

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /manhole`.
    Manhole,
    /// A valid WebSocket upgrade, with the client's `Sec-WebSocket-Key`.
    Upgrade {
        /// The key to derive the accept header from.
        key: String,
    },
    /// An upgrade request missing a required header, or with a wrong value.
    BadUpgrade(&'static str),
    /// A method other than GET.
    MethodNotAllowed,
    /// Anything else.
    NotFound,
}

/// Why no request could be read.
#[derive(Debug, Error)]
pub(crate) enum RequestError {
    /// The deadline passed first.
    #[error("no complete request before the deadline")]
    Timeout,
    /// The client closed the connection first.
    #[error("connection closed before a complete request")]
    Closed,
    /// Reading failed.
    #[error("I/O error reading the request: {0}")]
    Io(#[source] io::Error),
    /// The head is not valid HTTP/1.x.
    #[error("malformed request: {0}")]
    Malformed(#[source] httparse::Error),
    /// The head exceeds the size limit.
    #[error("request head larger than {MAX_HEAD_LEN} bytes")]
    TooLarge,
}

/// Reads one request head, returning its route and any bytes read past it.
pub(crate) fn read_request(
    stream: &mut TcpStream,
    deadline: Instant,
) -> Result<(Route, Vec<u8>), RequestError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RequestError::Timeout);
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(RequestError::Io)?;
        let room = (MAX_HEAD_LEN - buf.len()).min(chunk.len());
        let read = match stream.read(&mut chunk[..room]) {
            Ok(0) => return Err(RequestError::Closed),
            Ok(read) => read,
            Err(error) => match error.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    return Err(RequestError::Timeout)
                }
                _ => return Err(RequestError::Io(error)),
            },
        };
        buf.extend_from_slice(&chunk[..read]);
        if let Some((route, head_len)) = parse_head(&buf)? {
            return Ok((route, buf.split_off(head_len)));
        }
        if buf.len() >= MAX_HEAD_LEN {
            return Err(RequestError::TooLarge);
        }
    }
}

/// Routes a complete request head, or `None` if more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(Route, usize)>, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf).map_err(RequestError::Malformed)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(len) => Ok(Some((route(&request), len))),
    }
}

fn route(request: &httparse::Request<'_, '_>) -> Route {
    if request.method != Some("GET") {
        return Route::MethodNotAllowed;
    }
    let path = request.path.unwrap_or("");
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    if path == MANHOLE_PATH {
        return Route::Manhole;
    }
    if !header_has_token(request, "upgrade", "websocket") {
        return Route::NotFound;
    }
    if request.version != Some(1) {
        return Route::BadUpgrade("WebSocket needs HTTP/1.1");
    }
    if !header_has_token(request, "connection", "upgrade") {
        return Route::BadUpgrade("missing Connection: Upgrade");
    }
    if header(request, "sec-websocket-version") != Some("13") {
        return Route::BadUpgrade("unsupported Sec-WebSocket-Version (13 is spoken)");
    }
    match header(request, "sec-websocket-key") {
        Some(key) if !key.is_empty() => Route::Upgrade {
            key: key.to_owned(),
        },
        _ => Route::BadUpgrade("missing Sec-WebSocket-Key"),
    }
}

/// The value of the first header called `name`, trimmed, if it is text.
fn header<'a>(request: &httparse::Request<'_, 'a>, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .and_then(|header| std::str::from_utf8(header.value).ok())
        .map(str::trim)
}

/// Whether any header called `name` lists `token` (comma-separated, any
/// case).
fn header_has_token(request: &httparse::Request<'_, '_>, name: &str, token: &str) -> bool {
    request
        .headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case(name))
        .filter_map(|header| std::str::from_utf8(header.value).ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Bounds the next writes on `stream` by `deadline`; fails if it passed.
fn write_before(stream: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    stream.set_write_timeout(Some(left))
}

/// Accepts the upgrade, by `deadline`.
pub(crate) fn write_switching_protocols(
    stream: &mut TcpStream,
    deadline: Instant,
    key: &str,
) -> io::Result<()> {
    write_before(stream, deadline)?;
    let accept = derive_accept_key(key.as_bytes());
    write!(
        stream,
        "HTTP/1.1 101 Switching Protocols\r\n\
         Connection: Upgrade\r\n\
         Upgrade: websocket\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    stream.flush()
}

/// Writes a whole response with `body` by `deadline` (a client that does
/// not read cannot hold the connection past it), closing the exchange.
pub(crate) fn write_response(
    stream: &mut TcpStream,
    deadline: Instant,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    write_before(stream, deadline)?;
    let mut body = body;
    write!(
        stream,
        "HTTP/1.1 {status}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    while !body.is_empty() {
        write_before(stream, deadline)?;
        match stream.write(body) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => body = &body[written..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(head: &str) -> Option<Route> {
        parse_head(head.as_bytes())
            .expect("well-formed")
            .map(|(route, _)| route)
    }

    const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n\
        Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: abc==\r\n\r\n";

    #[test]
    fn routes_requests() {
        assert_eq!(
            route_of(UPGRADE),
            Some(Route::Upgrade {
                key: "abc==".into()
            })
        );
        assert_eq!(
            route_of(&UPGRADE.replace("GET / ", "GET /any/path?x ")),
            Some(Route::Upgrade {
                key: "abc==".into()
            })
        );
        assert_eq!(
            route_of("GET /manhole HTTP/1.1\r\nHost: h\r\n\r\n"),
            Some(Route::Manhole)
        );
        assert_eq!(
            route_of("GET /manhole?pretty HTTP/1.0\r\n\r\n"),
            Some(Route::Manhole)
        );
        assert_eq!(route_of("GET / HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
        assert_eq!(route_of("GET /x HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
        assert_eq!(
            route_of("POST /manhole HTTP/1.1\r\n\r\n"),
            Some(Route::MethodNotAllowed)
        );
        assert_eq!(route_of("GET / HTTP/1.1\r\nHost: h\r\n"), None);
    }

    #[test]
    fn refuses_incomplete_upgrades() {
        let cases = [
            ("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"),
            ("Sec-WebSocket-Key: abc==", "Sec-WebSocket-Key: "),
            ("Connection: keep-alive, Upgrade", "Connection: keep-alive"),
            ("HTTP/1.1", "HTTP/1.0"),
        ];
        for (from, to) in cases {
            let head = UPGRADE.replacen(from, to, 1);
            assert!(
                matches!(route_of(&head), Some(Route::BadUpgrade(_))),
                "{head:?}"
            );
        }
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(matches!(
            parse_head(b"\x00\x01\x02 / HTTP/1.1\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
    }
}
