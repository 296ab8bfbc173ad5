//! The ceiling: a zero-work relay that splices two loopback TCP streams,
//! reading from one and writing to the other without looking at the bytes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// How much the relay moves per read.
const SPLICE_CHUNK: usize = 256 * 1024;

/// Listens on an ephemeral loopback port; the first connection accepted is
/// spliced into a new connection to `target`. Returns the address to dial.
pub fn start(target: SocketAddr) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let Ok((from, _)) = listener.accept() else {
            return;
        };
        let Ok(to) = TcpStream::connect(target) else {
            return;
        };
        splice(from, to);
    });
    Ok(address)
}

/// Copies `from` into `to` until either side ends.
fn splice(mut from: TcpStream, mut to: TcpStream) {
    let _ = to.set_nodelay(true);
    let mut buffer = vec![0u8; SPLICE_CHUNK];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let chunk = buffer.get(..read).unwrap_or_default();
        if to.write_all(chunk).is_err() {
            return;
        }
    }
}
