//! The sending end: SNEK-routed traffic frames written in large batches,
//! as fast as the socket takes them or paced to a rate.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pinecone_engine::wire::{Coords, PublicKey, TrafficRepr, Watermark, DEFAULT_HOP_LIMIT};

/// Bytes of frames written per batch.
const BATCH_BYTES: usize = 256 * 1024;

/// How often a paced generator wakes to write the frames that are due.
const PACING_TICK: Duration = Duration::from_micros(200);

/// A batch of traffic frames of one length, ready to write again and again.
pub struct Batch {
    /// The encoded frames, back to back.
    pub bytes: Vec<u8>,
    /// How many frames `bytes` holds.
    pub frames: u64,
}

impl Batch {
    /// Frames carrying `payload_len` bytes each, addressed by key only
    /// (SNEK) and carrying `watermark`. Frame `i` goes from
    /// `sources[i % sources.len()]` to a destination that changes with
    /// every frame and with every pass over the sources, so that with more
    /// than one key on either side no two consecutive frames share a head.
    pub fn snek(
        sources: &[PublicKey],
        destinations: &[PublicKey],
        watermark: Watermark,
        payload_len: usize,
    ) -> Result<Batch, String> {
        if sources.is_empty() || destinations.is_empty() {
            return Err("a batch needs at least one source and one destination".into());
        }
        let payload = vec![0xa5u8; payload_len];
        let repr = |i: usize| TrafficRepr {
            hop_limit: DEFAULT_HOP_LIMIT,
            dest_coords: Coords(Vec::new()),
            src_coords: Coords(Vec::new()),
            dest_key: destinations[(i + i / sources.len()) % destinations.len()],
            src_key: sources[i % sources.len()],
            watermark,
            payload: &payload,
        };
        let frame_len = repr(0).encoded_len();
        let frames = (BATCH_BYTES / frame_len).max(1);
        let mut bytes = vec![0u8; frames * frame_len];
        for (i, frame) in bytes.chunks_exact_mut(frame_len).enumerate() {
            repr(i).emit(frame).map_err(|e| e.to_string())?;
        }
        Ok(Batch {
            bytes,
            frames: frames as u64,
        })
    }

    /// Bytes of one frame.
    pub fn frame_len(&self) -> usize {
        self.bytes.len() / self.frames.max(1) as usize
    }

    /// The first frame of the batch alone.
    pub fn one_frame(&self) -> &[u8] {
        self.bytes.get(..self.frame_len()).unwrap_or_default()
    }
}

/// A thread writing one batch over and over until stopped.
pub struct Generator {
    stop: Arc<AtomicBool>,
    offered: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

impl Generator {
    /// Starts writing `batch` to `writer`: as fast as the socket takes it,
    /// or, with `rate`, that many frames a second (in the frames due every
    /// [`PACING_TICK`]).
    pub fn start(writer: Arc<Mutex<TcpStream>>, batch: Arc<Batch>, rate: Option<f64>) -> Generator {
        let stop = Arc::new(AtomicBool::new(false));
        let offered = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, offered) = (Arc::clone(&stop), Arc::clone(&offered));
            std::thread::spawn(move || match rate {
                None => write_flat_out(&writer, &batch, &stop, &offered),
                Some(rate) => write_paced(&writer, &batch, rate, &stop, &offered),
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

fn write_flat_out(
    writer: &Mutex<TcpStream>,
    batch: &Batch,
    stop: &AtomicBool,
    offered: &AtomicU64,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = writer.lock() else {
            return;
        };
        if stream.write_all(&batch.bytes).is_err() {
            return;
        }
        offered.fetch_add(batch.frames, Ordering::Relaxed);
    }
}

fn write_paced(
    writer: &Mutex<TcpStream>,
    batch: &Batch,
    rate: f64,
    stop: &AtomicBool,
    offered: &AtomicU64,
) {
    let frame_len = batch.frame_len();
    let start = Instant::now();
    let mut sent: u64 = 0;
    // Where in the batch the next frame starts, so that the flows keep
    // turning over across writes.
    let mut next = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        let mut owed = due.saturating_sub(sent).min(batch.frames);
        while owed > 0 {
            let take = owed.min(batch.frames - next as u64);
            let from = next * frame_len;
            let to = from + take as usize * frame_len;
            let Ok(mut stream) = writer.lock() else {
                return;
            };
            if stream
                .write_all(batch.bytes.get(from..to).unwrap_or_default())
                .is_err()
            {
                return;
            }
            drop(stream);
            offered.fetch_add(take, Ordering::Relaxed);
            sent += take;
            owed -= take;
            next = (next + take as usize) % batch.frames as usize;
        }
        // Frames more than one batch behind are skipped, not made up.
        sent = sent.max(due.saturating_sub(batch.frames));
        std::thread::sleep(PACING_TICK);
    }
}
