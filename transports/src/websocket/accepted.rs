//! An accepted WebSocket as a byte stream: the TCP socket plus the state of
//! the client's framing. The handshake runs over it with blocking reads
//! and writes; then it is handed whole to an I/O driver, which carries on
//! decoding where the handshake left off. No thread is kept per peering.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::codec::{binary_frame, pong_frame, Control, Decoder};
use crate::handshake::TimeoutStream;

/// Bytes read from the socket at a time during setup.
const SETUP_READ_LEN: usize = 4096;

/// The most stream bytes one frame written here carries.
const MAX_WRITE_LEN: usize = 64 * 1024;

/// The server side of an upgraded WebSocket connection.
#[derive(Debug)]
pub struct WebSocketStream {
    tcp: TcpStream,
    decoder: Decoder,
    /// Raw bytes read and not yet decoded.
    raw: Vec<u8>,
    /// Stream bytes decoded and not yet read.
    decoded: Vec<u8>,
}

/// A [`WebSocketStream`] taken apart for an I/O driver.
#[derive(Debug)]
pub(crate) struct WebSocketParts {
    /// The socket.
    pub(crate) tcp: TcpStream,
    /// Where decoding stands.
    pub(crate) decoder: Decoder,
    /// Raw bytes read and not yet decoded.
    pub(crate) raw: Vec<u8>,
    /// Stream bytes decoded and not yet handed on.
    pub(crate) decoded: Vec<u8>,
}

impl WebSocketStream {
    /// The stream over `tcp`, whose upgrade is done; `leftover` holds any
    /// raw bytes read past the upgrade request.
    pub(crate) fn new(tcp: TcpStream, leftover: Vec<u8>) -> WebSocketStream {
        WebSocketStream {
            tcp,
            decoder: Decoder::default(),
            raw: leftover,
            decoded: Vec::new(),
        }
    }

    /// The TCP socket beneath.
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Takes the stream apart for an I/O driver.
    pub(crate) fn into_parts(self) -> WebSocketParts {
        WebSocketParts {
            tcp: self.tcp,
            decoder: self.decoder,
            raw: self.raw,
            decoded: self.decoded,
        }
    }

    /// Decodes what is buffered; `Ok(false)` when the client closed.
    fn decode_buffered(&mut self) -> io::Result<bool> {
        let decoded = self
            .decoder
            .decode_in_place(&mut self.raw)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        self.decoded
            .extend_from_slice(&self.raw[..decoded.produced]);
        self.raw.drain(..decoded.consumed);
        match decoded.control {
            Some(Control::Ping(payload)) => {
                self.tcp.write_all(&pong_frame(&payload))?;
                Ok(true)
            }
            Some(Control::Close) => Ok(false),
            None => Ok(true),
        }
    }
}

impl Read for WebSocketStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.decoded.is_empty() {
                let n = buf.len().min(self.decoded.len());
                buf[..n].copy_from_slice(&self.decoded[..n]);
                self.decoded.drain(..n);
                return Ok(n);
            }
            if !self.raw.is_empty() {
                if !self.decode_buffered()? {
                    return Ok(0);
                }
                continue;
            }
            let mut chunk = [0u8; SETUP_READ_LEN];
            let read = self.tcp.read(&mut chunk)?;
            if read == 0 {
                return Ok(0);
            }
            self.raw.extend_from_slice(&chunk[..read]);
        }
    }
}

impl Write for WebSocketStream {
    /// Sends up to 64 KiB of `buf` as one binary frame, written whole (a
    /// frame cut short would corrupt the stream, so a failure means the
    /// connection is unusable).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len().min(MAX_WRITE_LEN);
        self.tcp.write_all(&binary_frame(&buf[..len]))?;
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl TimeoutStream for WebSocketStream {
    fn set_io_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_io_timeout(timeout)
    }
}
