//! The accept loop shared by the TCP and WebSocket listeners.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use tracing::{debug, warn};

/// How long to pause when accepting fails for lack of resources (for
/// example out of file descriptors), rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

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
    /// Runs `on_accept` on a new thread for every connection accepted on
    /// `listener`, with the stream blocking and `TCP_NODELAY` set.
    pub(crate) fn spawn<F>(listener: TcpListener, name: &str, on_accept: F) -> io::Result<Listener>
    where
        F: FnMut(TcpStream, SocketAddr) + Send + 'static,
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
    F: FnMut(TcpStream, SocketAddr),
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

/// Accepts every connection waiting on the listener.
fn accept_ready<F>(listener: &TcpListener, on_accept: &mut F)
where
    F: FnMut(TcpStream, SocketAddr),
{
    loop {
        match listener.accept() {
            Ok((stream, address)) => match prepare(&stream) {
                Ok(()) => on_accept(stream, address),
                Err(error) => debug!(%address, %error, "cannot set up accepted connection"),
            },
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

fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)
}
