//! Moving one stream's bytes between the application's socket and its
//! QUIC stream, on the session thread.
//!
//! Buffering is bounded both ways: toward the peer, bytes are read from
//! the socket only while QUIC takes them (its flow-control and send
//! windows), and at most one read's worth waits in between; toward the
//! application, one received chunk at most waits for the socket, and
//! QUIC's receive window bounds the rest.

use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use bytes::{Buf, Bytes};
use quinn_proto::{Connection, ConnectionHandle, ReadError, StreamId, VarInt, WriteError};
use rustix::net::{send, SendFlags};

/// The most bytes moved in one read from the socket or one chunk from
/// QUIC.
pub(crate) const PUMP_CHUNK: usize = 64 << 10;

/// The code sent to the peer when the application closed its end before
/// reading everything (STOP_SENDING), or when a stream is refused.
pub(crate) const STREAM_CLOSED: VarInt = VarInt::from_u32(0);

/// Where one direction of a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Bytes may still move.
    Open,
    /// Ended cleanly: a finish was sent, or received and passed on.
    Finished,
    /// Ended abruptly: stopped or reset.
    Gone,
}

/// One stream's pump.
#[derive(Debug)]
pub(crate) struct Pump {
    socket: UnixStream,
    /// The session the stream belongs to.
    pub(crate) conn: ConnectionHandle,
    /// The stream.
    pub(crate) id: StreamId,
    /// The socket may have bytes (or the end) to read.
    readable: bool,
    /// The socket may take bytes.
    writable: bool,
    /// The application shut its sending side (or closed).
    app_eof: bool,
    /// The application closed its end: nothing more can reach it.
    app_closed: bool,
    /// Read from the socket, not yet taken by QUIC (from `sent` on).
    outgoing: Vec<u8>,
    sent: usize,
    to_peer: Direction,
    /// Received from QUIC, not yet written to the socket.
    incoming: Bytes,
    to_app: Direction,
    /// The end of the peer's bytes was passed on to the socket.
    end_written: bool,
    /// Waiting in the engine's list of pumps to service.
    pub(crate) queued: bool,
}

impl Pump {
    /// A pump between the session thread's end `socket` (non-blocking)
    /// and stream `id` of `conn`.
    pub(crate) fn new(socket: UnixStream, conn: ConnectionHandle, id: StreamId) -> Pump {
        Pump {
            socket,
            conn,
            id,
            readable: true,
            writable: true,
            app_eof: false,
            app_closed: false,
            outgoing: Vec::new(),
            sent: 0,
            to_peer: Direction::Open,
            incoming: Bytes::new(),
            to_app: Direction::Open,
            end_written: false,
            queued: false,
        }
    }

    /// The socket, to register with the poller.
    pub(crate) fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Notes what the poller reported about the socket.
    pub(crate) fn on_ready(&mut self, readable: bool, writable: bool, app_closed: bool) {
        self.readable |= readable;
        self.writable |= writable;
        if app_closed {
            self.app_closed = true;
            self.readable = true;
        }
    }

    /// Moves what can move both ways; returns whether the stream is done
    /// with (both directions ended and everything passed on).
    pub(crate) fn service(&mut self, conn: &mut Connection, scratch: &mut [u8]) -> bool {
        self.toward_peer(conn, scratch);
        self.toward_app(conn);
        self.is_done()
    }

    fn is_done(&self) -> bool {
        let peer_done = self.to_peer != Direction::Open;
        let app_done = match self.to_app {
            Direction::Open => false,
            Direction::Finished => self.end_written || self.app_closed,
            Direction::Gone => true,
        };
        peer_done && app_done
    }

    /// Application → peer.
    fn toward_peer(&mut self, conn: &mut Connection, scratch: &mut [u8]) {
        while self.to_peer == Direction::Open {
            if self.sent < self.outgoing.len() {
                let pending = &self.outgoing[self.sent..];
                match conn.send_stream(self.id).write(pending) {
                    Ok(n) => self.sent += n,
                    Err(WriteError::Blocked) => return,
                    Err(WriteError::Stopped(_) | WriteError::ClosedStream) => {
                        self.peer_stopped_reading();
                        return;
                    }
                }
                if self.sent < self.outgoing.len() {
                    return;
                }
                self.outgoing.clear();
                self.sent = 0;
                continue;
            }
            if self.app_eof {
                // Fails only on a stream already finished or reset.
                let _ = conn.send_stream(self.id).finish();
                self.to_peer = Direction::Finished;
                return;
            }
            if !self.readable {
                return;
            }
            let n = match (&self.socket).read(scratch) {
                Ok(0) => {
                    self.app_eof = true;
                    continue;
                }
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.app_eof = true;
                    continue;
                }
            };
            let data = &scratch[..n];
            match conn.send_stream(self.id).write(data) {
                Ok(taken) if taken == n => {}
                Ok(taken) => self.keep(&data[taken..]),
                Err(WriteError::Blocked) => self.keep(data),
                Err(WriteError::Stopped(_) | WriteError::ClosedStream) => {
                    self.peer_stopped_reading();
                }
            }
        }
    }

    /// Keeps bytes QUIC did not take yet.
    fn keep(&mut self, rest: &[u8]) {
        self.outgoing.clear();
        self.outgoing.extend_from_slice(rest);
        self.sent = 0;
    }

    /// The peer stopped reading (or the stream is gone): what the
    /// application wrote can go nowhere, so its writes fail from now on.
    fn peer_stopped_reading(&mut self) {
        self.to_peer = Direction::Gone;
        self.outgoing = Vec::new();
        self.sent = 0;
        let _ = self.socket.shutdown(Shutdown::Read);
    }

    /// Peer → application.
    fn toward_app(&mut self, conn: &mut Connection) {
        loop {
            if !self.incoming.is_empty() {
                if self.app_closed {
                    self.incoming = Bytes::new();
                } else if !self.writable {
                    return;
                } else {
                    match send(self.socket.as_fd(), &self.incoming, SendFlags::NOSIGNAL) {
                        Ok(n) => self.incoming.advance(n),
                        Err(rustix::io::Errno::AGAIN) => {
                            self.writable = false;
                            return;
                        }
                        Err(rustix::io::Errno::INTR) => {}
                        Err(_) => {
                            self.app_closed = true;
                            self.incoming = Bytes::new();
                        }
                    }
                    continue;
                }
            }
            if self.app_closed && self.to_app == Direction::Open {
                // Tells the peer to stop sending; fails only on a stream
                // already ended.
                let _ = conn.recv_stream(self.id).stop(STREAM_CLOSED);
                self.to_app = Direction::Gone;
            }
            if self.to_app != Direction::Open {
                if self.to_app == Direction::Finished && !self.end_written && !self.app_closed {
                    let _ = self.socket.shutdown(Shutdown::Write);
                    self.end_written = true;
                }
                return;
            }
            let mut stream = conn.recv_stream(self.id);
            let Ok(mut chunks) = stream.read(true) else {
                self.peer_ended(Direction::Gone);
                return;
            };
            let next = chunks.next(PUMP_CHUNK);
            // Whether to send flow-control credit now: the engine sends
            // what each touched connection has after every pass anyway.
            let _ = chunks.finalize();
            match next {
                Ok(Some(chunk)) => self.incoming = chunk.bytes,
                Ok(None) => self.peer_ended(Direction::Finished),
                Err(ReadError::Blocked) => return,
                Err(ReadError::Reset(_)) => self.peer_ended(Direction::Gone),
            }
        }
    }

    /// The peer's side ended: cleanly (finish) or not (reset). Either way
    /// the application reads the end once it has everything before it.
    fn peer_ended(&mut self, how: Direction) {
        self.to_app = how;
        if how == Direction::Gone {
            let _ = self.socket.shutdown(Shutdown::Write);
            self.end_written = true;
        }
    }
}
