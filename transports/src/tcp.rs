//! Dialling TCP: name resolution and connecting with a timeout.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::dial::DialError;

/// Connects to `host:port`, trying each resolved address in turn, each
/// within `timeout`. The stream is blocking, with `TCP_NODELAY` set.
pub(crate) fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, DialError> {
    let resolve_error = |source| DialError::Resolve {
        host: host.to_owned(),
        source,
    };
    let addresses = (host, port).to_socket_addrs().map_err(resolve_error)?;
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                stream
                    .set_nodelay(true)
                    .map_err(|source| DialError::Connect { address, source })?;
                return Ok(stream);
            }
            Err(source) => last_error = Some(DialError::Connect { address, source }),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        resolve_error(io::Error::new(
            io::ErrorKind::NotFound,
            "the name resolved to no address",
        ))
    }))
}
