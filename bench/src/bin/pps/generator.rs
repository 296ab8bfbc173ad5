//! The sending end: SNEK-routed traffic frames written in large batches.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pinecone_engine::wire::{Coords, PublicKey, TrafficRepr, Watermark, DEFAULT_HOP_LIMIT};

/// Bytes of frames written per batch.
const BATCH_BYTES: usize = 256 * 1024;

/// A batch of identical traffic frames, ready to write again and again.
pub struct Batch {
    /// The encoded frames, back to back.
    pub bytes: Vec<u8>,
    /// How many frames `bytes` holds.
    pub frames: u64,
}

impl Batch {
    /// Frames from `source` to `destination` carrying `payload_len` bytes
    /// each, addressed by key only (SNEK) and carrying `watermark`.
    pub fn snek(
        source: PublicKey,
        destination: PublicKey,
        watermark: Watermark,
        payload_len: usize,
    ) -> Result<Batch, String> {
        let payload = vec![0xa5u8; payload_len];
        let repr = TrafficRepr {
            hop_limit: DEFAULT_HOP_LIMIT,
            dest_coords: Coords(Vec::new()),
            src_coords: Coords(Vec::new()),
            dest_key: destination,
            src_key: source,
            watermark,
            payload: &payload,
        };
        let frame_len = repr.encoded_len();
        let frames = (BATCH_BYTES / frame_len).max(1);
        let mut bytes = vec![0u8; frames * frame_len];
        for frame in bytes.chunks_exact_mut(frame_len) {
            repr.emit(frame).map_err(|e| e.to_string())?;
        }
        Ok(Batch {
            bytes,
            frames: frames as u64,
        })
    }

    /// The first frame of the batch alone.
    pub fn one_frame(&self) -> &[u8] {
        let len = self.bytes.len() / self.frames.max(1) as usize;
        self.bytes.get(..len).unwrap_or_default()
    }
}

/// A thread writing one batch over and over until stopped.
pub struct Generator {
    stop: Arc<AtomicBool>,
    offered: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

impl Generator {
    /// Starts writing `batch` to `writer` as fast as the socket takes it.
    pub fn start(writer: Arc<Mutex<TcpStream>>, batch: Arc<Batch>) -> Generator {
        let stop = Arc::new(AtomicBool::new(false));
        let offered = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, offered) = (Arc::clone(&stop), Arc::clone(&offered));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut stream) = writer.lock() else {
                        return;
                    };
                    if stream.write_all(&batch.bytes).is_err() {
                        return;
                    }
                    offered.fetch_add(batch.frames, Ordering::Relaxed);
                }
            })
        };
        Generator {
            stop,
            offered,
            thread,
        }
    }

    /// Frames written so far.
    pub fn offered(&self) -> u64 {
        self.offered.load(Ordering::Relaxed)
    }

    /// Stops writing and waits for the batch in flight.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
