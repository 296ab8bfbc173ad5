//! A peering with the node under test that behaves as a real peer does:
//! the handshake, a root announcement signed for our port, and keepalives.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    emit_keepalive, AnnouncementFrame, AnnouncementRepr, Handshake, PublicKey, HANDSHAKE_LEN,
    HEADER_LEN,
};

/// The port number our side signs into its announcement for the node.
const OUR_PORT: u64 = 1;
/// How often a keepalive is written; the node drops a silent peer after a
/// few seconds.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);
/// Deadline for the whole handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The write side of a peering, shared so that whole writes from different
/// threads never interleave inside a frame.
pub type SharedWriter = Arc<Mutex<TcpStream>>;

/// An established peering with the node.
pub struct Peering {
    /// A second handle on the socket, for reading.
    pub reader: TcpStream,
    /// The socket's write side.
    pub writer: SharedWriter,
    stop: Arc<AtomicBool>,
    keepalive: Option<JoinHandle<()>>,
}

impl Peering {
    /// Dials `node`, completes the handshake as `signer`, announces
    /// ourselves as a tree root and starts writing keepalives.
    pub fn open(node: SocketAddr, signer: &SigningKey) -> Result<Peering, String> {
        let mut stream = TcpStream::connect(node).map_err(|e| format!("connect {node}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let key = PublicKey::of(signer);
        handshake(&mut stream, signer, &key)?;
        stream
            .write_all(&root_announcement(signer)?)
            .map_err(|e| format!("announce: {e}"))?;
        let reader = stream.try_clone().map_err(|e| e.to_string())?;
        let writer = Arc::new(Mutex::new(stream));
        let stop = Arc::new(AtomicBool::new(false));
        let keepalive = {
            let (writer, stop) = (Arc::clone(&writer), Arc::clone(&stop));
            std::thread::spawn(move || write_keepalives(&writer, &stop))
        };
        Ok(Peering {
            reader,
            writer,
            stop,
            keepalive: Some(keepalive),
        })
    }
}

impl Drop for Peering {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.keepalive.take() {
            let _ = thread.join();
        }
        let _ = self.reader.shutdown(std::net::Shutdown::Both);
    }
}

/// Sends our handshake, reads and verifies the node's.
fn handshake(stream: &mut TcpStream, signer: &SigningKey, ours: &PublicKey) -> Result<(), String> {
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(Handshake::new(signer).as_bytes())
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut theirs = [0u8; HANDSHAKE_LEN];
    stream
        .read_exact(&mut theirs)
        .map_err(|e| format!("handshake read: {e}"))?;
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    // A node that stops reading fails our writes instead of hanging them.
    stream
        .set_write_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    Handshake::from_bytes(&theirs)
        .and_then(|h| h.verify(ours))
        .map_err(|e| format!("node's handshake refused: {e}"))?;
    Ok(())
}

/// A tree announcement frame naming us as root, signed for our port.
fn root_announcement(signer: &SigningKey) -> Result<Vec<u8>, String> {
    let mut repr = AnnouncementRepr::new_root(PublicKey::of(signer), 1);
    repr.sign_and_append(OUR_PORT, signer)
        .map_err(|e| e.to_string())?;
    let mut payload = vec![0u8; repr.encoded_len()];
    repr.emit(&mut payload).map_err(|e| e.to_string())?;
    let mut frame = vec![0u8; AnnouncementFrame::encoded_len(payload.len())];
    AnnouncementFrame::emit(&payload, &mut frame).map_err(|e| e.to_string())?;
    Ok(frame)
}

/// Writes a keepalive every [`KEEPALIVE_EVERY`] until `stop` is set or the
/// socket fails.
fn write_keepalives(writer: &SharedWriter, stop: &AtomicBool) {
    let mut frame = [0u8; HEADER_LEN];
    if emit_keepalive(&mut frame).is_err() {
        return;
    }
    let tick = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        waited += tick;
        if waited < KEEPALIVE_EVERY {
            continue;
        }
        waited = Duration::ZERO;
        let Ok(mut stream) = writer.lock() else {
            return;
        };
        if stream.write_all(&frame).is_err() {
            return;
        }
    }
}
