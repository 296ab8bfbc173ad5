//! The ceilings: zero-work relays that pass one loopback TCP stream into
//! another without looking at the bytes, either through a buffer of ours
//! (`read` and `write`, as a program that forwards does) or through a pipe
//! with the kernel's `splice`, which never copies the bytes to user space.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use rustix::pipe::{fcntl_setpipe_size, pipe, splice, SpliceFlags};

/// How much the relay moves per call.
const RELAY_CHUNK: usize = 256 * 1024;

/// How a relay moves the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayKind {
    /// `read` into a buffer, `write` from it.
    Copy,
    /// `splice` from the socket into a pipe and from the pipe on.
    Splice,
}

impl RelayKind {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            RelayKind::Copy => "relay",
            RelayKind::Splice => "splice relay",
        }
    }
}

/// Listens on an ephemeral loopback port; the first connection accepted is
/// relayed into a new connection to `target`. Returns the address to dial.
pub fn start(target: SocketAddr, kind: RelayKind) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let Ok((from, _)) = listener.accept() else {
            return;
        };
        let Ok(to) = TcpStream::connect(target) else {
            return;
        };
        let _ = to.set_nodelay(true);
        match kind {
            RelayKind::Copy => copy(from, to),
            RelayKind::Splice => pipe_through(&from, &to),
        }
    });
    Ok(address)
}

/// Copies `from` into `to` until either side ends.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = vec![0u8; RELAY_CHUNK];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to
            .write_all(buffer.get(..read).unwrap_or_default())
            .is_err()
        {
            return;
        }
    }
}

/// Splices `from` into `to` through a pipe until either side ends.
fn pipe_through(from: &TcpStream, to: &TcpStream) {
    let Ok((pipe_out, pipe_in)) = pipe() else {
        return;
    };
    // A bigger pipe moves more per call; the default (64 KiB) still works.
    let _ = fcntl_setpipe_size(&pipe_in, RELAY_CHUNK);
    loop {
        let mut held = match splice(from, None, &pipe_in, None, RELAY_CHUNK, SpliceFlags::MOVE) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while held > 0 {
            match splice(&pipe_out, None, to, None, held, SpliceFlags::MOVE) {
                Ok(0) | Err(_) => return,
                Ok(n) => held -= n,
            }
        }
    }
}
