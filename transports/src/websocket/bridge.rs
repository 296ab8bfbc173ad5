//! Pumps bytes between a WebSocket and one end of a Unix socket pair, so
//! that the peering's owner sees a plain stream.
//!
//! One thread per WebSocket, waiting on both sockets with `poll(2)`. Each
//! direction holds at most one message in flight: a message from the peer
//! is written out locally before the next is read, and a chunk read
//! locally is flushed to the peer before the next is read. Backpressure on
//! either side therefore stops the other.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use thiserror::Error;
use tracing::debug;
use tungstenite::{Bytes, Message, WebSocket};

use super::socket::WsSocket;
use super::CHUNK_LEN;

/// How long a closing bridge waits to flush its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts a bridge thread for `websocket` and returns the other end of its
/// Unix socket pair, in blocking mode. `remote` names the peer in logs.
pub(crate) fn bridge(websocket: WebSocket<WsSocket>, remote: String) -> io::Result<UnixStream> {
    let (local, peering_end) = UnixStream::pair()?;
    local.set_nonblocking(true)?;
    websocket.get_ref().tcp().set_nonblocking(true)?;
    let bridge = Bridge {
        websocket,
        local,
        inbound: Bytes::new(),
        chunk: vec![0; CHUNK_LEN],
        flush_pending: false,
        ready: Readiness::default(),
    };
    thread::Builder::new()
        .name("pinecone-ws-bridge".to_owned())
        .spawn(move || match bridge.run() {
            Ok(end) => debug!(%remote, "WebSocket bridge ended: {end}"),
            Err(error) => debug!(%remote, %error, "WebSocket bridge failed"),
        })?;
    Ok(peering_end)
}

struct Bridge {
    websocket: WebSocket<WsSocket>,
    /// Our end of the pair, non-blocking.
    local: UnixStream,
    /// What is left of the peer's last message, to write locally.
    inbound: Bytes,
    /// Buffer for local reads.
    chunk: Vec<u8>,
    /// A message or control reply is queued in the WebSocket.
    flush_pending: bool,
    ready: Readiness,
}

/// Which operations may make progress: cleared when one would block, set
/// again when `poll` reports the socket ready.
struct Readiness {
    websocket_read: bool,
    websocket_write: bool,
    local_read: bool,
    local_write: bool,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            websocket_read: true,
            websocket_write: true,
            local_read: true,
            local_write: true,
        }
    }
}

/// How a bridge ended without error.
#[derive(Debug)]
enum End {
    /// The peer closed the WebSocket.
    PeerClosed,
    /// The peering's owner closed its end.
    LocalClosed,
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            End::PeerClosed => "the peer closed the WebSocket",
            End::LocalClosed => "the peering was closed locally",
        })
    }
}

/// Why a bridge failed.
#[derive(Debug, Error)]
enum BridgeError {
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] Box<tungstenite::Error>),
    #[error("local socket error: {0}")]
    Local(#[source] io::Error),
    #[error("poll failed: {0}")]
    Poll(#[source] io::Error),
    #[error("the peer sent a text message; only binary messages carry a peering")]
    TextMessage,
}

/// The outcome of one attempted operation.
enum Step {
    Progress,
    Blocked,
    End(End),
}

impl Bridge {
    fn run(mut self) -> Result<End, BridgeError> {
        let end = self.pump();
        self.close_websocket();
        end
    }

    fn pump(&mut self) -> Result<End, BridgeError> {
        loop {
            let mut progressed = false;
            let steps = [
                Self::flush_websocket,
                Self::read_websocket,
                Self::write_local,
                Self::read_local,
            ];
            for step in steps {
                match step(self)? {
                    Step::Progress => progressed = true,
                    Step::Blocked => {}
                    Step::End(end) => return Ok(end),
                }
            }
            if !progressed {
                self.wait()?;
            }
        }
    }

    /// Sends what the WebSocket has queued.
    fn flush_websocket(&mut self) -> Result<Step, BridgeError> {
        if !self.flush_pending || !self.ready.websocket_write {
            return Ok(Step::Blocked);
        }
        match self.websocket.flush() {
            Ok(()) => {
                self.flush_pending = false;
                Ok(Step::Progress)
            }
            Err(error) => self.websocket_error(error, |ready| ready.websocket_write = false),
        }
    }

    /// Takes the peer's next message, once the last one is written out.
    fn read_websocket(&mut self) -> Result<Step, BridgeError> {
        if !self.inbound.is_empty() || !self.ready.websocket_read {
            return Ok(Step::Blocked);
        }
        match self.websocket.read() {
            Ok(Message::Binary(payload)) => {
                self.inbound = payload;
                Ok(Step::Progress)
            }
            Ok(Message::Text(_)) => Err(BridgeError::TextMessage),
            Ok(Message::Close(_)) => Ok(Step::End(End::PeerClosed)),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {
                // A ping's reply is queued: get it flushed.
                self.flush_pending = true;
                Ok(Step::Progress)
            }
            Err(error) => self.websocket_error(error, |ready| ready.websocket_read = false),
        }
    }

    /// Writes the peer's bytes to the local end.
    fn write_local(&mut self) -> Result<Step, BridgeError> {
        if self.inbound.is_empty() || !self.ready.local_write {
            return Ok(Step::Blocked);
        }
        match self.local.write(&self.inbound) {
            Ok(0) => Ok(Step::End(End::LocalClosed)),
            Ok(written) => {
                self.inbound = self.inbound.slice(written..);
                Ok(Step::Progress)
            }
            Err(error) => self.local_error(error, |ready| ready.local_write = false),
        }
    }

    /// Reads local bytes into one binary message, once the last is flushed.
    fn read_local(&mut self) -> Result<Step, BridgeError> {
        if self.flush_pending || !self.ready.local_read {
            return Ok(Step::Blocked);
        }
        match self.local.read(&mut self.chunk) {
            Ok(0) => Ok(Step::End(End::LocalClosed)),
            Ok(read) => {
                let message = Message::Binary(Bytes::copy_from_slice(&self.chunk[..read]));
                self.flush_pending = true;
                match self.websocket.write(message) {
                    Ok(()) => Ok(Step::Progress),
                    // The message is buffered; the flush will retry.
                    Err(error) => self.websocket_error(error, |_| {}),
                }
            }
            Err(error) => self.local_error(error, |ready| ready.local_read = false),
        }
    }

    /// Sorts a WebSocket error: would-block marks the operation not ready,
    /// a finished close ends the bridge, anything else fails it.
    fn websocket_error(
        &mut self,
        error: tungstenite::Error,
        not_ready: impl FnOnce(&mut Readiness),
    ) -> Result<Step, BridgeError> {
        match error {
            tungstenite::Error::Io(error) if error.kind() == io::ErrorKind::WouldBlock => {
                not_ready(&mut self.ready);
                Ok(Step::Blocked)
            }
            tungstenite::Error::Io(error) if error.kind() == io::ErrorKind::Interrupted => {
                Ok(Step::Progress)
            }
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                Ok(Step::End(End::PeerClosed))
            }
            error => Err(BridgeError::WebSocket(Box::new(error))),
        }
    }

    /// Sorts a local socket error like [`Self::websocket_error`].
    fn local_error(
        &mut self,
        error: io::Error,
        not_ready: impl FnOnce(&mut Readiness),
    ) -> Result<Step, BridgeError> {
        match error.kind() {
            io::ErrorKind::WouldBlock => {
                not_ready(&mut self.ready);
                Ok(Step::Blocked)
            }
            io::ErrorKind::Interrupted => Ok(Step::Progress),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                Ok(Step::End(End::LocalClosed))
            }
            _ => Err(BridgeError::Local(error)),
        }
    }

    /// Waits until a blocked operation that matters can make progress.
    /// Only sockets with something to wait for are polled, so a hang-up on
    /// the other one cannot wake us in a loop.
    fn wait(&mut self) -> Result<(), BridgeError> {
        let mut websocket_interest = PollFlags::empty();
        if self.inbound.is_empty() && !self.ready.websocket_read {
            websocket_interest |= PollFlags::IN;
        }
        if self.flush_pending && !self.ready.websocket_write {
            websocket_interest |= PollFlags::OUT;
        }
        let mut local_interest = PollFlags::empty();
        if !self.flush_pending && !self.ready.local_read {
            local_interest |= PollFlags::IN;
        }
        if !self.inbound.is_empty() && !self.ready.local_write {
            local_interest |= PollFlags::OUT;
        }
        let (websocket_events, local_events) = {
            let tcp = self.websocket.get_ref().tcp();
            let mut fds = Vec::with_capacity(2);
            if !websocket_interest.is_empty() {
                fds.push(PollFd::new(tcp, websocket_interest));
            }
            if !local_interest.is_empty() {
                fds.push(PollFd::new(&self.local, local_interest));
            }
            loop {
                match poll(&mut fds, None) {
                    Ok(_) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(errno) => return Err(BridgeError::Poll(errno.into())),
                }
            }
            let mut events = fds.iter().map(PollFd::revents);
            let websocket_events = if websocket_interest.is_empty() {
                PollFlags::empty()
            } else {
                events.next().unwrap_or(PollFlags::empty())
            };
            (
                websocket_events,
                events.next().unwrap_or(PollFlags::empty()),
            )
        };
        let failed = PollFlags::ERR | PollFlags::HUP;
        self.ready.websocket_read |= websocket_events.intersects(PollFlags::IN | failed);
        self.ready.websocket_write |= websocket_events.intersects(PollFlags::OUT | failed);
        self.ready.local_read |= local_events.intersects(PollFlags::IN | failed);
        self.ready.local_write |= local_events.intersects(PollFlags::OUT | failed);
        Ok(())
    }

    /// Best effort to close the WebSocket cleanly: send our close frame (or
    /// the reply to the peer's) within a short timeout. Errors are moot, as
    /// the connection is dropped right after.
    fn close_websocket(&mut self) {
        let tcp = self.websocket.get_ref().tcp();
        let blocking = tcp
            .set_nonblocking(false)
            .and_then(|()| tcp.set_write_timeout(Some(CLOSE_TIMEOUT)));
        if blocking.is_ok() {
            let _ = self.websocket.close(None);
        }
    }
}
