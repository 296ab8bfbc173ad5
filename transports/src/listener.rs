//! The accept loop shared by the TCP and WebSocket listeners.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use tracing::warn;

/// How long to pause when accepting fails for lack of resources (for
/// example out of file descriptors), rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connections accepted in one go before the accept loop looks at its stop
/// signal again: a client that reconnects as fast as it is refused must not
/// keep the loop from stopping.
const ACCEPTS_PER_WAKE: usize = 256;

/// Connections the kernel queues for a listener before we accept them (it
/// caps this at `net.core.somaxconn`). Large, so that a burst of peers
/// dialling at once is not refused by the kernel.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Binds a TCP listener to the first of `address`'s addresses that works,
/// with `SO_REUSEADDR` and a backlog of [`LISTEN_BACKLOG`].
pub(crate) fn bind(address: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last_error = None;
    for address in address.to_socket_addrs()? {
        match bind_one(address) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")))
}

fn bind_one(address: SocketAddr) -> io::Result<TcpListener> {
    let family = match address {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    rustix::net::sockopt::set_socket_reuseaddr(&socket, true)?;
    rustix::net::bind(&socket, &address)?;
    rustix::net::listen(&socket, LISTEN_BACKLOG)?;
    Ok(TcpListener::from(socket))
}

/// A listening socket with its accept loop thread. Dropping it (or calling
/// [`close`](Listener::close)) stops accepting and closes the socket;
/// connections already accepted are unaffected.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    stop: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Runs `on_accept` on the listener's thread for every connection
    /// accepted on `listener`, with the instant it was accepted; see
    /// [`prepare`] for making the stream ready to set up.
    pub(crate) fn spawn<F>(listener: TcpListener, name: &str, on_accept: F) -> io::Result<Listener>
    where
        F: FnMut(TcpStream, SocketAddr, Instant) + Send + 'static,
    {
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let (stop, stopped) = UnixStream::pair()?;
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || accept_loop(&listener, &stopped, on_accept))?;
        Ok(Listener {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and waits for the accept loop to end.
    pub fn close(self) {}
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Closing our end wakes the accept loop with a hang-up.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!(address = %self.local_addr, "accept loop panicked");
            }
        }
    }
}

fn accept_loop<F>(listener: &TcpListener, stopped: &UnixStream, mut on_accept: F)
where
    F: FnMut(TcpStream, SocketAddr, Instant),
{
    loop {
        let mut fds = [
            PollFd::new(listener, PollFlags::IN),
            PollFd::new(stopped, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(error) => {
                warn!(%error, "poll on a listener failed; no longer accepting");
                return;
            }
        }
        if !fds[1].revents().is_empty() {
            return;
        }
        accept_ready(listener, &mut on_accept);
    }
}

/// Accepts the connections waiting on the listener, up to
/// [`ACCEPTS_PER_WAKE`].
fn accept_ready<F>(listener: &TcpListener, on_accept: &mut F)
where
    F: FnMut(TcpStream, SocketAddr, Instant),
{
    for _ in 0..ACCEPTS_PER_WAKE {
        match listener.accept() {
            Ok((stream, address)) => on_accept(stream, address, Instant::now()),
            Err(error) => match error.kind() {
                io::ErrorKind::WouldBlock => return,
                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => {}
                _ => {
                    warn!(%error, "accept failed");
                    thread::sleep(ACCEPT_BACKOFF);
                    return;
                }
            },
        }
    }
}

/// Makes an accepted stream blocking, with `TCP_NODELAY` set.
pub(crate) fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)
}
