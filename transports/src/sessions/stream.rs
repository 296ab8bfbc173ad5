//! [`SessionStream`]: the application's end of one session stream.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use pinecone_engine::wire::PublicKey;

/// One bidirectional QUIC stream of a session, as a byte stream.
///
/// Behind it is one end of a Unix socket pair whose other end the node's
/// session thread pumps to and from the QUIC stream, so it reads and
/// writes like a socket: reads block until bytes come (or the read
/// timeout passes), writes block while the bounded buffers are full.
///
/// * [`shutdown_write`](Self::shutdown_write) finishes the sending side
///   (the peer reads the end); reading goes on.
/// * Dropping it flushes what was written, finishes the stream and tells
///   the peer to stop sending: written data is never discarded.
/// * The peer's end (a finish, a reset, or the session ending) reads as
///   the end of the stream; a write after the peer stopped reading fails.
/// * A stream reaches the peer with its first byte: a dialler whose
///   protocol has the server speak first must write something first.
#[derive(Debug)]
pub struct SessionStream {
    socket: UnixStream,
    remote_key: PublicKey,
    protocol: String,
}

impl SessionStream {
    /// The application's end `socket` of a stream with `remote_key`.
    pub(crate) fn new(socket: UnixStream, remote_key: PublicKey, protocol: String) -> Self {
        SessionStream {
            socket,
            remote_key,
            protocol,
        }
    }

    /// The other node's key, authenticated by the session's handshake.
    pub fn remote_key(&self) -> PublicKey {
        self.remote_key
    }

    /// The session's protocol.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// How long a read may wait (`None`: for ever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    /// How long a write may wait (`None`: for ever).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_write_timeout(timeout)
    }

    /// Finishes the sending side once what was written is sent; the
    /// stream can still be read.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.socket.shutdown(Shutdown::Write)
    }

    /// The socket underneath, for a program that polls it itself (the C
    /// ABI hands it out as a file descriptor).
    pub fn into_fd(self) -> OwnedFd {
        OwnedFd::from(self.socket)
    }
}

impl Read for SessionStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.read(buf)
    }
}

impl Read for &SessionStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.socket).read(buf)
    }
}

impl Write for SessionStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &SessionStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.socket).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
