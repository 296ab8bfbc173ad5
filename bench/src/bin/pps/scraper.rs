//! A Prometheus stand-in: fetches a daemon's `/metrics` at a fixed
//! interval for as long as it lives, to measure what scraping costs the
//! forwarding rate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Scrapes one address until dropped.
pub struct Scraper {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    scrapes: AtomicU64,
    failures: AtomicU64,
    micros: AtomicU64,
    bytes: AtomicU64,
}

impl Scraper {
    /// Starts fetching `http://address/metrics` every `interval`.
    pub fn start(address: SocketAddr, interval: Duration) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let thread = {
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            thread::spawn(move || {
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match fetch(address) {
                        Ok(bytes) => {
                            counts.scrapes.fetch_add(1, Ordering::Relaxed);
                            counts.bytes.fetch_add(bytes, Ordering::Relaxed);
                            let micros = started.elapsed().as_micros() as u64;
                            counts.micros.fetch_add(micros, Ordering::Relaxed);
                        }
                        Err(_) => {
                            counts.failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    next += interval;
                    // Sleep in short steps so that dropping is prompt.
                    while !stop.load(Ordering::Relaxed) && Instant::now() < next {
                        thread::sleep(Duration::from_millis(20).min(interval));
                    }
                }
            })
        };
        Scraper {
            stop,
            counts,
            thread: Some(thread),
        }
    }

    /// Scrapes done, failed, their mean time in milliseconds and mean
    /// size in bytes.
    pub fn summary(&self) -> String {
        let scrapes = self.counts.scrapes.load(Ordering::Relaxed);
        let failures = self.counts.failures.load(Ordering::Relaxed);
        let per = |total: &AtomicU64| total.load(Ordering::Relaxed) / scrapes.max(1);
        format!(
            "{scrapes} scrapes ({failures} failed), {:.2} ms and {} bytes each on average",
            per(&self.counts.micros) as f64 / 1000.0,
            per(&self.counts.bytes)
        )
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One `GET /metrics`; the bytes of the answer.
fn fetch(address: SocketAddr) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other("not 200"));
    }
    Ok(answer.len() as u64)
}
