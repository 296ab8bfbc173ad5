//! Dialling a peer a beacon invited: TCP from the address of the interface
//! the beacon arrived on, within a timeout.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};

/// Connects to `remote` from `local` (port 0: any), waiting at most
/// `timeout`. The stream is blocking, with `TCP_NODELAY` set.
pub(crate) fn connect_from(
    local: SocketAddr,
    remote: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let family = match remote {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    rustix::net::bind(&socket, &local)?;
    match rustix::net::connect(&socket, &remote) {
        Ok(()) => {}
        Err(Errno::INPROGRESS) => wait_connected(&socket, timeout)?,
        Err(error) => return Err(error.into()),
    }
    let stream = TcpStream::from(socket);
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Waits for a non-blocking connect to finish, then reports its outcome.
fn wait_connected(socket: &std::os::fd::OwnedFd, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection timed out",
            ));
        }
        let wait =
            Timespec::try_from(left).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut fds = [PollFd::new(socket, PollFlags::OUT)];
        match poll(&mut fds, Some(&wait)) {
            Ok(0) => continue,
            Ok(_) => break,
            Err(Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    match sockopt::socket_error(socket)? {
        Ok(()) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn connects_from_the_given_local_address() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let stream = connect_from(
            local,
            listener.local_addr().unwrap(),
            Duration::from_secs(5),
        )
        .expect("connects");
        let (_, seen_from) = listener.accept().expect("accepts");
        assert_eq!(stream.local_addr().unwrap(), seen_from);
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn reports_a_refused_connection() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(connect_from(local, port, Duration::from_secs(5)).is_err());
    }
}
