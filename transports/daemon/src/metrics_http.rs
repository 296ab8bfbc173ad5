//! `--metrics ADDR`: a plain HTTP listener answering `GET /metrics` with
//! the node's stats in the Prometheus text format.
//!
//! It follows the manhole's access rules: loopback clients only, unless
//! `--manhole-anywhere`; others are closed at once. One thread serves one
//! connection at a time, each within [`REQUEST_DEADLINE`] and
//! [`MAX_REQUEST_BYTES`], and answers with `Connection: close`: a scraper
//! asks once every few seconds, and a client that dawdles holds the
//! thread no longer than the deadline.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use pinecone_transports::Node;
use tracing::{debug, warn};

use crate::metrics;

/// The longest a client may take to send its request and read the answer.
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// The longest request head read; longer ones get 431.
const MAX_REQUEST_BYTES: usize = 8 << 10;

/// Listens on `address` and serves `node`'s metrics from a thread of its
/// own for as long as the process runs; returns the address bound.
pub fn serve(address: &str, anywhere: bool, node: Arc<Node>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(address)?;
    let bound = listener.local_addr()?;
    thread::Builder::new()
        .name("pinecone-metrics".to_owned())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => answer(stream, anywhere, &node),
                    Err(error) => {
                        warn!(%error, "metrics listener: accept failed");
                        // Out of descriptors, say: let them come back.
                        thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })?;
    Ok(bound)
}

/// Answers one connection (or closes it, for a client not allowed).
fn answer(mut stream: TcpStream, anywhere: bool, node: &Node) {
    let allowed = stream
        .peer_addr()
        .is_ok_and(|peer| may_ask(peer.ip(), anywhere));
    if !allowed {
        return;
    }
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let (status, content_type, body) = match read_request(&mut stream, deadline) {
        Ok(Request::Metrics) => match node.stats() {
            Ok(stats) => match metrics::render(stats) {
                Ok(text) => ("200 OK", metrics::CONTENT_TYPE, text),
                Err(_) => error_answer("500 Internal Server Error"),
            },
            Err(_) => error_answer("503 Service Unavailable"),
        },
        Ok(Request::NotFound) => error_answer("404 Not Found"),
        Ok(Request::NotGet) => error_answer("405 Method Not Allowed"),
        Ok(Request::TooLarge) => error_answer("431 Request Header Fields Too Large"),
        Ok(Request::Malformed) => error_answer("400 Bad Request"),
        Err(error) => {
            debug!(%error, "metrics request not read");
            return;
        }
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let written = set_timeout(&stream, deadline, TcpStream::set_write_timeout)
        .and_then(|()| stream.write_all(head.as_bytes()))
        .and_then(|()| stream.write_all(body.as_bytes()));
    if let Err(error) = written {
        debug!(%error, "metrics answer not written");
    }
}

/// Whether a client at `address` is answered: a loopback one always, any
/// other with `anywhere` (the manhole's rule).
fn may_ask(address: IpAddr, anywhere: bool) -> bool {
    anywhere || address.to_canonical().is_loopback()
}

fn error_answer(status: &'static str) -> (&'static str, &'static str, String) {
    (status, "text/plain; charset=utf-8", format!("{status}\n"))
}

/// What a request asked for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Metrics,
    NotFound,
    NotGet,
    TooLarge,
    Malformed,
}

/// Reads a request head (up to the blank line) before `deadline`.
fn read_request(stream: &mut TcpStream, deadline: Instant) -> io::Result<Request> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(request) = parse(&head) {
            return Ok(request);
        }
        if head.len() >= MAX_REQUEST_BYTES {
            return Ok(Request::TooLarge);
        }
        set_timeout(stream, deadline, TcpStream::set_read_timeout)?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Sets a read or write timeout of what is left until `deadline`.
fn set_timeout(
    stream: &TcpStream,
    deadline: Instant,
    set: fn(&TcpStream, Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    set(stream, Some(left))
}

/// The request in `head`, or `None` while it is incomplete.
fn parse(head: &[u8]) -> Option<Request> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Partial) => None,
        Ok(httparse::Status::Complete(_)) => {
            let path = request.path.unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default();
            Some(match (request.method, path) {
                (Some("GET"), "/metrics") => Request::Metrics,
                (Some("GET"), _) => Request::NotFound,
                _ => Request::NotGet,
            })
        }
        Err(httparse::Error::TooManyHeaders) => Some(Request::TooLarge),
        Err(_) => Some(Request::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_clients_unless_anywhere() {
        let ip = |text: &str| text.parse::<IpAddr>().expect(text);
        for local in ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"] {
            assert!(may_ask(ip(local), false), "{local}");
        }
        for remote in ["192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7"] {
            assert!(!may_ask(ip(remote), false), "{remote}");
            assert!(may_ask(ip(remote), true), "{remote}");
        }
    }

    #[test]
    fn requests_are_told_apart() {
        assert_eq!(parse(b"GET /metrics HTTP/1.1\r\nHost: h\r\n"), None);
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n"),
            Some(Request::Metrics)
        );
        assert_eq!(
            parse(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Some(Request::Metrics)
        );
        assert_eq!(
            parse(b"GET /manhole HTTP/1.1\r\n\r\n"),
            Some(Request::NotFound)
        );
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Some(Request::NotGet)
        );
        assert_eq!(parse(b"\x00\x01garbage\r\n\r\n"), Some(Request::Malformed));
    }
}
