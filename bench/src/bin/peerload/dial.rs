//! Non-blocking TCP connects, each from its own source address if asked.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

/// Starts a TCP connection to `target` without waiting for it to complete,
/// bound to `source` (any port) when given. The stream becomes writable
/// once connected; a failure shows in its pending socket error.
pub fn start_connect(
    target: SocketAddr,
    source: Option<Ipv4Addr>,
) -> io::Result<mio::net::TcpStream> {
    let family = match target {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    if let Some(source) = source {
        rustix::net::bind(&socket, &SocketAddr::new(IpAddr::V4(source), 0))?;
    }
    rustix::net::sockopt::set_tcp_nodelay(&socket, true)?;
    match rustix::net::connect(&socket, &target) {
        Ok(()) | Err(Errno::INPROGRESS) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(
        socket,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn connects_from_the_source_address_asked_for() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let source = Ipv4Addr::new(127, 1, 0, 7);
        let stream =
            start_connect(listener.local_addr().expect("address"), Some(source)).expect("connect");
        let (_, remote) = listener.accept().expect("accept");
        assert_eq!(remote.ip(), IpAddr::V4(source));
        assert_eq!(stream.local_addr().expect("local").ip(), IpAddr::V4(source));
    }

    #[test]
    fn a_closed_port_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        // The listener is gone: the connect is refused, at once or through
        // the socket error.
        let stream = match start_connect(port, None) {
            Ok(stream) => stream,
            Err(error) => {
                assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
                return;
            }
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            if let Some(error) = stream.take_error().expect("socket error") {
                assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no error reported");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
