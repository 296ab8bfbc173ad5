//! The peering handshake over a blocking stream, under one deadline for the
//! whole exchange.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{Handshake, HandshakeError, PublicKey, HANDSHAKE_LEN};
use thiserror::Error;

use crate::peering::PeerStream;

/// How long a peer has to complete the handshake, as the reference.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking stream whose reads and writes can be given a timeout.
pub trait TimeoutStream: Read + Write {
    /// Sets the timeout of every blocking read and write; `None` waits
    /// forever.
    fn set_io_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl TimeoutStream for TcpStream {
    fn set_io_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

impl TimeoutStream for UnixStream {
    fn set_io_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

impl TimeoutStream for PeerStream {
    fn set_io_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

/// Why a handshake did not complete.
#[derive(Debug, Error)]
pub enum HandshakeFailure {
    /// The exchange did not finish before the deadline.
    #[error("handshake not completed within {0:?}")]
    Timeout(Duration),
    /// The peer closed the connection before sending a whole handshake.
    #[error("connection closed during the handshake")]
    Closed,
    /// Reading or writing the stream failed.
    #[error("I/O error during the handshake: {0}")]
    Io(#[source] io::Error),
    /// The peer's handshake was refused.
    #[error("handshake refused: {0}")]
    Refused(#[from] HandshakeError),
}

/// Writes our handshake, reads the peer's whole handshake and verifies it
/// (version, capabilities, signature, not our own key), all within
/// `timeout`. Returns the peer's public key.
///
/// The stream must be in blocking mode. On success its timeouts are
/// cleared; on failure the caller should drop it.
pub fn exchange_handshake<S: TimeoutStream>(
    stream: &mut S,
    signing_key: &SigningKey,
    timeout: Duration,
) -> Result<PublicKey, HandshakeFailure> {
    exchange_until(stream, signing_key, Deadline::after(timeout))
}

/// [`exchange_handshake`] with a deadline fixed earlier (for an accepted
/// connection, counted from accept); `timeout` is what a failure reports.
pub(crate) fn exchange_handshake_before<S: TimeoutStream>(
    stream: &mut S,
    signing_key: &SigningKey,
    deadline: Instant,
    timeout: Duration,
) -> Result<PublicKey, HandshakeFailure> {
    let deadline = Deadline {
        at: Some(deadline),
        timeout,
    };
    exchange_until(stream, signing_key, deadline)
}

fn exchange_until<S: TimeoutStream>(
    stream: &mut S,
    signing_key: &SigningKey,
    deadline: Deadline,
) -> Result<PublicKey, HandshakeFailure> {
    let ours = Handshake::new(signing_key);
    write_all_before(stream, ours.as_bytes(), &deadline)?;
    let mut theirs = [0u8; HANDSHAKE_LEN];
    read_exact_before(stream, &mut theirs, &deadline)?;
    stream.set_io_timeout(None).map_err(HandshakeFailure::Io)?;
    let key = Handshake::from_bytes(&theirs)?.verify(&PublicKey::of(signing_key))?;
    Ok(key)
}

/// The instant an exchange must be over by; `None` when the timeout is too
/// large to represent, which waits forever.
struct Deadline {
    at: Option<Instant>,
    timeout: Duration,
}

impl Deadline {
    fn after(timeout: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(timeout),
            timeout,
        }
    }

    /// Sets the stream's timeout to the time left, or fails if none is.
    fn arm<S: TimeoutStream>(&self, stream: &S) -> Result<(), HandshakeFailure> {
        let left = self
            .at
            .map(|at| at.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(self.expired());
        }
        stream.set_io_timeout(left).map_err(HandshakeFailure::Io)
    }

    fn expired(&self) -> HandshakeFailure {
        HandshakeFailure::Timeout(self.timeout)
    }

    /// Maps an I/O error, reading a timed-out operation as the deadline.
    fn classify(&self, error: io::Error) -> HandshakeFailure {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.expired(),
            io::ErrorKind::UnexpectedEof => HandshakeFailure::Closed,
            _ => HandshakeFailure::Io(error),
        }
    }
}

fn write_all_before<S: TimeoutStream>(
    stream: &mut S,
    mut bytes: &[u8],
    deadline: &Deadline,
) -> Result<(), HandshakeFailure> {
    while !bytes.is_empty() {
        deadline.arm(stream)?;
        match stream.write(bytes) {
            Ok(0) => return Err(HandshakeFailure::Closed),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(deadline.classify(error)),
        }
    }
    Ok(())
}

fn read_exact_before<S: TimeoutStream>(
    stream: &mut S,
    mut buf: &mut [u8],
    deadline: &Deadline,
) -> Result<(), HandshakeFailure> {
    while !buf.is_empty() {
        deadline.arm(stream)?;
        match stream.read(buf) {
            Ok(0) => return Err(HandshakeFailure::Closed),
            Ok(read) => buf = &mut buf[read..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(deadline.classify(error)),
        }
    }
    Ok(())
}
