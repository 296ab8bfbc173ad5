//! Peer URIs: `host:port`, `tcp://host:port`, `ws://host[:port][/path]` and
//! `wss://host[:port][/path]`.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use thiserror::Error;

/// Where to dial a peer.
///
/// Hosts are names or IP addresses; an IPv6 address is written in brackets
/// (`[::1]:7000`). Displays in canonical form (`tcp://…`, explicit port),
/// which parses back to the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerUri {
    /// A TCP peer: `host:port` or `tcp://host:port`.
    Tcp {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A WebSocket peer: `ws://host[:port][/path]`, or `wss://…` over TLS.
    WebSocket {
        /// Whether to use TLS (`wss://`).
        secure: bool,
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port: 80 or 443 unless given.
        port: u16,
        /// Path and query, starting with `/`.
        path: String,
    },
}

/// Why a string is not a peer URI.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UriError {
    /// Nothing but whitespace.
    #[error("empty peer URI")]
    Empty,
    /// A scheme other than `tcp`, `ws` and `wss`.
    #[error("unsupported scheme {0:?}: use tcp://, ws:// or wss://")]
    UnsupportedScheme(String),
    /// A TCP peer without a port.
    #[error("missing port in {0:?}: TCP peers are host:port")]
    MissingPort(String),
    /// A port that is not a number from 1 to 65535.
    #[error("invalid port {0:?}")]
    BadPort(String),
    /// A host that is empty or not a name or IP address (an IPv6 address
    /// needs brackets).
    #[error("invalid host {0:?}")]
    BadHost(String),
    /// User information (`user@host`) is not supported.
    #[error("user information is not supported in {0:?}")]
    UserInfo(String),
    /// A path, query or fragment where none is allowed (TCP peers), or a
    /// fragment or whitespace in a WebSocket path.
    #[error("unexpected path {0:?}")]
    BadPath(String),
}

impl PeerUri {
    /// The host to connect to (IPv6 addresses without brackets).
    pub fn host(&self) -> &str {
        match self {
            PeerUri::Tcp { host, .. } | PeerUri::WebSocket { host, .. } => host,
        }
    }

    /// The TCP port to connect to.
    pub fn port(&self) -> u16 {
        match self {
            PeerUri::Tcp { port, .. } | PeerUri::WebSocket { port, .. } => *port,
        }
    }
}

impl FromStr for PeerUri {
    type Err = UriError;

    fn from_str(input: &str) -> Result<PeerUri, UriError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(UriError::Empty);
        }
        let Some((scheme, rest)) = input.split_once("://") else {
            return parse_tcp(input);
        };
        match scheme.to_ascii_lowercase().as_str() {
            "tcp" => parse_tcp(rest),
            "ws" => parse_websocket(rest, false),
            "wss" => parse_websocket(rest, true),
            _ => Err(UriError::UnsupportedScheme(scheme.to_owned())),
        }
    }
}

impl fmt::Display for PeerUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerUri::Tcp { host, port } => write!(f, "tcp://{}:{port}", Bracketed(host)),
            PeerUri::WebSocket {
                secure,
                host,
                port,
                path,
            } => {
                let scheme = if *secure { "wss" } else { "ws" };
                write!(f, "{scheme}://{}:{port}{path}", Bracketed(host))
            }
        }
    }
}

/// A host as written in a URI: IPv6 addresses in brackets.
struct Bracketed<'a>(&'a str);

impl fmt::Display for Bracketed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

fn parse_tcp(authority: &str) -> Result<PeerUri, UriError> {
    if let Some(at) = authority.find(['/', '?', '#']) {
        return Err(UriError::BadPath(authority[at..].to_owned()));
    }
    let (host, port) = split_authority(authority)?;
    let port = port.ok_or_else(|| UriError::MissingPort(authority.to_owned()))?;
    Ok(PeerUri::Tcp {
        host,
        port: parse_port(port)?,
    })
}

fn parse_websocket(rest: &str, secure: bool) -> Result<PeerUri, UriError> {
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if path.contains('#') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UriError::BadPath(path.to_owned()));
    }
    let path = match path.chars().next() {
        None => "/".to_owned(),
        Some('?') => format!("/{path}"),
        Some(_) => path.to_owned(),
    };
    let (host, port) = split_authority(authority)?;
    let port = match port {
        Some(port) => parse_port(port)?,
        None if secure => 443,
        None => 80,
    };
    Ok(PeerUri::WebSocket {
        secure,
        host,
        port,
        path,
    })
}

/// Splits `host[:port]` or `[v6][:port]`, checking the host.
fn split_authority(authority: &str) -> Result<(String, Option<&str>), UriError> {
    if authority.contains('@') {
        return Err(UriError::UserInfo(authority.to_owned()));
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let bad_host = || UriError::BadHost(authority.to_owned());
        let (address, after) = bracketed.split_once(']').ok_or_else(bad_host)?;
        address.parse::<Ipv6Addr>().map_err(|_| bad_host())?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(bad_host)?),
        };
        return Ok((address.to_owned(), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if !is_host_name(host) {
        return Err(UriError::BadHost(host.to_owned()));
    }
    Ok((host.to_owned(), port))
}

/// A DNS name or IPv4 address: letters, digits, `-`, `_` and `.`.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_port(port: &str) -> Result<u16, UriError> {
    let bad_port = || UriError::BadPort(port.to_owned());
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_port());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad_port()),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> PeerUri {
        PeerUri::Tcp {
            host: host.to_owned(),
            port,
        }
    }

    fn ws(secure: bool, host: &str, port: u16, path: &str) -> PeerUri {
        PeerUri::WebSocket {
            secure,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        }
    }

    #[test]
    fn parses_every_accepted_form() {
        let table = [
            ("127.0.0.1:7000", tcp("127.0.0.1", 7000)),
            ("  example.org:65535 ", tcp("example.org", 65535)),
            ("tcp://node-1.example:1", tcp("node-1.example", 1)),
            ("TCP://localhost:80", tcp("localhost", 80)),
            ("[::1]:7000", tcp("::1", 7000)),
            ("tcp://[fe80::1]:9", tcp("fe80::1", 9)),
            ("ws://example.org", ws(false, "example.org", 80, "/")),
            ("ws://example.org/", ws(false, "example.org", 80, "/")),
            ("wss://example.org", ws(true, "example.org", 443, "/")),
            (
                "ws://10.0.0.1:8080/pinecone",
                ws(false, "10.0.0.1", 8080, "/pinecone"),
            ),
            (
                "wss://[::1]:8443/a/b?c=d",
                ws(true, "::1", 8443, "/a/b?c=d"),
            ),
            ("ws://host?x=1", ws(false, "host", 80, "/?x=1")),
            ("WSS://Host:443/", ws(true, "Host", 443, "/")),
        ];
        for (input, expected) in table {
            assert_eq!(input.parse::<PeerUri>(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        let table = [
            ("", UriError::Empty),
            ("   ", UriError::Empty),
            ("udp://host:1", UriError::UnsupportedScheme("udp".into())),
            ("http://host", UriError::UnsupportedScheme("http".into())),
            ("host", UriError::MissingPort("host".into())),
            ("tcp://[::1]", UriError::MissingPort("[::1]".into())),
            ("host:0", UriError::BadPort("0".into())),
            ("host:65536", UriError::BadPort("65536".into())),
            ("host:+80", UriError::BadPort("+80".into())),
            ("host:", UriError::BadPort("".into())),
            ("ws://host:http/", UriError::BadPort("http".into())),
            (":7000", UriError::BadHost("".into())),
            ("::1:7000", UriError::BadHost("::1".into())),
            ("[::1:7000", UriError::BadHost("[::1:7000".into())),
            ("[not-v6]:1", UriError::BadHost("[not-v6]:1".into())),
            ("[::1]7000", UriError::BadHost("[::1]7000".into())),
            ("ho st:1", UriError::BadHost("ho st".into())),
            ("ws://", UriError::BadHost("".into())),
            ("ws://user@host/", UriError::UserInfo("user@host".into())),
            ("tcp://host:1/path", UriError::BadPath("/path".into())),
            ("host:1?x", UriError::BadPath("?x".into())),
            ("ws://host/a#frag", UriError::BadPath("/a#frag".into())),
            ("ws://host/a b", UriError::BadPath("/a b".into())),
        ];
        for (input, expected) in table {
            assert_eq!(input.parse::<PeerUri>(), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        let table = [
            ("host:1", "tcp://host:1"),
            ("[::1]:2", "tcp://[::1]:2"),
            ("ws://h", "ws://h:80/"),
            ("wss://[::1]/x?y", "wss://[::1]:443/x?y"),
        ];
        for (input, canonical) in table {
            let uri: PeerUri = input.parse().expect(input);
            assert_eq!(uri.to_string(), canonical);
            assert_eq!(canonical.parse::<PeerUri>(), Ok(uri));
        }
    }

    #[test]
    fn accessors_give_host_and_port() {
        let uri: PeerUri = "wss://[::1]:8443/".parse().unwrap();
        assert_eq!((uri.host(), uri.port()), ("::1", 8443));
        let uri: PeerUri = "example.org:7".parse().unwrap();
        assert_eq!((uri.host(), uri.port()), ("example.org", 7));
    }
}
