//! The receiving end: deframes a byte stream and counts traffic frames.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pinecone_engine::wire::{Deframer, FrameType, Header};

/// How much is read from the socket at once.
const READ_CHUNK: usize = 256 * 1024;

/// A running count of the traffic frames that arrived on one stream.
#[derive(Clone, Default)]
pub struct FrameCount(Arc<AtomicU64>);

impl FrameCount {
    /// Traffic frames counted so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts a thread that reads `stream` until it closes or stops framing
/// correctly, counting every whole traffic frame. Other frames (the node's
/// announcements and keepalives) are read and ignored.
pub fn count_traffic(mut stream: impl Read + Send + 'static) -> FrameCount {
    let count = FrameCount::default();
    let counter = Arc::clone(&count.0);
    std::thread::spawn(move || {
        let mut deframer = Deframer::new();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let read = match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            deframer.push(chunk.get(..read).unwrap_or_default());
            let mut traffic = 0;
            loop {
                match deframer.next_frame() {
                    Ok(Some(frame)) => {
                        let is_traffic = Header::parse(frame)
                            .is_ok_and(|h| h.known_type() == Some(FrameType::Traffic));
                        traffic += u64::from(is_traffic);
                    }
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            counter.fetch_add(traffic, Ordering::Relaxed);
        }
    });
    count
}
