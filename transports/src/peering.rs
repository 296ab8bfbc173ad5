//! What a node receives for each established peering.

use std::io::{self, IoSliceMut, Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

pub use pinecone_engine::control::PeerType;
use pinecone_engine::wire::PublicKey;

use crate::websocket::WebSocketStream;

/// The connected stream of a peering: a TCP socket, one end of a Unix
/// socket pair (a dialled WebSocket peering's bridge, or any local stream),
/// or an accepted WebSocket, whose framing the I/O driver handles itself.
///
/// Writes go through `send(2)` with `MSG_NOSIGNAL`, so writing to a peer
/// that has gone away is an error, never a `SIGPIPE`, even in a host
/// process that does not ignore that signal. (Vectored writes are
/// deliberately left to the default, which writes one buffer this way,
/// because the standard library's `writev` does not suppress the signal.)
#[derive(Debug)]
pub enum PeerStream {
    /// A TCP connection, with `TCP_NODELAY` set.
    Tcp(TcpStream),
    /// A Unix stream socket.
    Unix(UnixStream),
    /// An accepted WebSocket: TCP carrying the client's binary frames. It
    /// is read and written whole (`Read`/`Write` on `PeerStream`); the
    /// shared-reference forms refuse, as decoding needs the framing state.
    WebSocket(Box<WebSocketStream>),
}

/// The error of raw I/O through a shared reference to a WebSocket stream.
fn framed() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a WebSocket stream is read and written through its framing",
    )
}

impl PeerStream {
    /// Switches the socket between blocking and non-blocking mode.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            PeerStream::Tcp(stream) => stream.set_nonblocking(nonblocking),
            PeerStream::Unix(stream) => stream.set_nonblocking(nonblocking),
            PeerStream::WebSocket(stream) => stream.tcp().set_nonblocking(nonblocking),
        }
    }

    /// Sets the timeout of blocking reads; `None` waits forever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PeerStream::Tcp(stream) => stream.set_read_timeout(timeout),
            PeerStream::Unix(stream) => stream.set_read_timeout(timeout),
            PeerStream::WebSocket(stream) => stream.tcp().set_read_timeout(timeout),
        }
    }

    /// Sets the timeout of blocking writes; `None` waits forever.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PeerStream::Tcp(stream) => stream.set_write_timeout(timeout),
            PeerStream::Unix(stream) => stream.set_write_timeout(timeout),
            PeerStream::WebSocket(stream) => stream.tcp().set_write_timeout(timeout),
        }
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            PeerStream::Tcp(stream) => stream.shutdown(how),
            PeerStream::Unix(stream) => stream.shutdown(how),
            PeerStream::WebSocket(stream) => stream.tcp().shutdown(how),
        }
    }

    /// The address of the remote end, for a TCP or WebSocket stream.
    pub fn peer_ip(&self) -> Option<IpAddr> {
        match self {
            PeerStream::Tcp(stream) => stream.peer_addr().ok().map(|a| a.ip()),
            PeerStream::Unix(_) => None,
            PeerStream::WebSocket(stream) => stream.tcp().peer_addr().ok().map(|a| a.ip()),
        }
    }

    /// A second handle to the same socket.
    pub fn try_clone(&self) -> io::Result<PeerStream> {
        match self {
            PeerStream::Tcp(stream) => stream.try_clone().map(PeerStream::Tcp),
            PeerStream::Unix(stream) => stream.try_clone().map(PeerStream::Unix),
            PeerStream::WebSocket(_) => Err(framed()),
        }
    }
}

impl Read for PeerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PeerStream::WebSocket(stream) => stream.read(buf),
            other => (&*other).read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self {
            PeerStream::WebSocket(stream) => stream.read_vectored(bufs),
            other => (&*other).read_vectored(bufs),
        }
    }
}

impl Read for &PeerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PeerStream::Tcp(stream) => (&*stream).read(buf),
            PeerStream::Unix(stream) => (&*stream).read(buf),
            PeerStream::WebSocket(_) => Err(framed()),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self {
            PeerStream::Tcp(stream) => (&*stream).read_vectored(bufs),
            PeerStream::Unix(stream) => (&*stream).read_vectored(bufs),
            PeerStream::WebSocket(_) => Err(framed()),
        }
    }
}

impl Write for PeerStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            PeerStream::WebSocket(stream) => stream.write(buf),
            other => (&*other).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            PeerStream::WebSocket(stream) => stream.flush(),
            other => (&*other).flush(),
        }
    }
}

impl Write for &PeerStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            PeerStream::Tcp(stream) => (&*stream).write(buf),
            PeerStream::Unix(stream) => (&*stream).write(buf),
            PeerStream::WebSocket(_) => Err(framed()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            PeerStream::Tcp(stream) => (&*stream).flush(),
            PeerStream::Unix(stream) => (&*stream).flush(),
            PeerStream::WebSocket(_) => Ok(()),
        }
    }
}

impl AsFd for PeerStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            PeerStream::Tcp(stream) => stream.as_fd(),
            PeerStream::Unix(stream) => stream.as_fd(),
            PeerStream::WebSocket(stream) => stream.tcp().as_fd(),
        }
    }
}

impl AsRawFd for PeerStream {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl From<TcpStream> for PeerStream {
    fn from(stream: TcpStream) -> Self {
        PeerStream::Tcp(stream)
    }
}

impl From<UnixStream> for PeerStream {
    fn from(stream: UnixStream) -> Self {
        PeerStream::Unix(stream)
    }
}

/// Where a peering came from: known before the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerOrigin {
    /// How the peer is connected.
    pub peer_type: PeerType,
    /// The zone: `"static"` for static peers, `"websocket"` for accepted
    /// WebSocket peers, empty for accepted TCP peers (as the reference).
    pub zone: String,
    /// The URI dialled, or the remote address of an accepted connection.
    pub uri: String,
    /// Whether we dialled it.
    pub outbound: bool,
}

/// An established peering: the handshake succeeded and the peer's key is
/// verified. The stream is in blocking mode with no timeouts and carries
/// frames only from here on.
#[derive(Debug)]
pub struct Peering {
    /// The connected stream.
    pub stream: PeerStream,
    /// The peer's public key, as verified by the handshake.
    pub public_key: PublicKey,
    /// Where the peering came from.
    pub origin: PeerOrigin,
}
