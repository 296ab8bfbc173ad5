//! The byte stream under a WebSocket: plain TCP, or TLS over TCP.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use rustls::{ClientConnection, StreamOwned};

/// A WebSocket's transport, with access to the TCP socket beneath so that
/// the bridge can wait on it.
#[derive(Debug)]
pub(crate) enum WsSocket {
    /// Plain TCP (`ws://`, and every accepted connection).
    Plain(TcpStream),
    /// TLS over TCP (`wss://`).
    Tls(Box<StreamOwned<ClientConnection, UnvectoredTcp>>),
}

/// A TCP stream that writes one buffer at a time. The TLS library writes
/// vectored, and the standard library's vectored TCP write (`writev`) can
/// raise `SIGPIPE` on a closed connection, where its plain write (`send`
/// with `MSG_NOSIGNAL`) cannot.
#[derive(Debug)]
pub(crate) struct UnvectoredTcp(pub(crate) TcpStream);

impl Read for UnvectoredTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for UnvectoredTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl WsSocket {
    /// The TCP socket beneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            WsSocket::Plain(stream) => stream,
            WsSocket::Tls(stream) => &stream.get_ref().0,
        }
    }
}

impl Read for WsSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            WsSocket::Plain(stream) => stream.read(buf),
            WsSocket::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for WsSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WsSocket::Plain(stream) => stream.write(buf),
            WsSocket::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            WsSocket::Plain(stream) => stream.flush(),
            WsSocket::Tls(stream) => stream.flush(),
        }
    }
}
