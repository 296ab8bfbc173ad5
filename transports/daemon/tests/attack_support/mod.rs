//! A real daemon on loopback, honest peers that watch it, and hostile
//! peers on other loopback addresses (every 127.x.y.z is loopback on
//! Linux and can be bound as a source without setup).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    emit_keepalive, frame_length, Announcement, Frame, Handshake, PublicKey, HANDSHAKE_LEN,
};
use rand_core::OsRng;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

// The driver switch of pinecone-transports' own node tests.
#[path = "../../../tests/node_support/io_switch.rs"]
mod io_switch;
pub use io_switch::{test_io, test_io_flag};

/// Attack tests run one at a time: each measures timing (keepalive gaps)
/// that other tests' load on a small machine would blur.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the lock that runs attack tests one at a time.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The longest an honest peer may go without a frame from the daemon: its
/// keepalive interval (3 s) and half a second of slack.
pub const MAX_GAP: Duration = Duration::from_millis(3_500);

/// A loopback address other than 127.0.0.1.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A `pinecone` daemon started for a test; killed when dropped.
pub struct Daemon {
    child: Child,
    /// Its TCP listener.
    pub tcp: SocketAddr,
    /// Its WebSocket listener (with the manhole).
    pub ws: SocketAddr,
    /// Its public key.
    pub key: PublicKey,
}

impl Daemon {
    /// Starts the daemon on loopback with the manhole on and `extra`
    /// flags, and waits until it listens.
    pub fn start(extra: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pinecone"))
            .args(["--listen", "127.0.0.1:0", "--listen-ws", "127.0.0.1:0"])
            .args(["--manhole", "--workers", "2", "--io", test_io_flag()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut field = |prefix: &str| -> String {
            let line = lines
                .next()
                .expect("the daemon printed its addresses")
                .expect("read stdout");
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
                .to_owned()
        };
        let key = field("Public key: ");
        let tcp = field("Listening on tcp://");
        let ws = field("Listening for WebSockets on ws://");
        let key = hex::decode(key).expect("hex key");
        Daemon {
            child,
            tcp: tcp.parse().expect("tcp address"),
            ws: ws.parse().expect("ws address"),
            key: PublicKey(key.try_into().expect("32 bytes")),
        }
    }

    /// A line of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, name: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the daemon's status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {name} in the daemon's status"))
    }

    /// Its resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// Its peak resident memory, in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    /// Sends SIGTERM and returns how long the daemon took to exit.
    pub fn terminate(mut self) -> Duration {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        let started = Instant::now();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        while started.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().expect("wait").is_some() {
                return started.elapsed();
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!("the daemon did not exit within 10 s of SIGTERM");
    }

    /// Fetches `/manhole` from `source`; returns the HTTP status line and
    /// the time the whole answer took.
    pub fn manhole_from(&self, source: IpAddr) -> (String, Duration) {
        let started = Instant::now();
        let mut stream = connect_from(source, self.ws).expect("connect to the manhole");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(b"GET /manhole HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("request");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response);
        let status = text.lines().next().unwrap_or("").to_owned();
        (status, started.elapsed())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection to `target` from the local address `source`.
pub fn connect_from(source: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let family = if source.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    rustix::net::bind(&socket, &SocketAddr::new(source, 0))?;
    rustix::net::connect(&socket, &target)?;
    let stream = TcpStream::from(socket);
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Connects from `source` and completes the handshake as `key`, within
/// `within`.
pub fn handshaken(
    source: IpAddr,
    target: SocketAddr,
    key: &SigningKey,
    within: Duration,
) -> std::io::Result<TcpStream> {
    let mut stream = connect_from(source, target)?;
    stream.set_read_timeout(Some(within))?;
    stream.write_all(Handshake::new(key).as_bytes())?;
    let mut theirs = [0u8; HANDSHAKE_LEN];
    stream.read_exact(&mut theirs)?;
    Ok(stream)
}

/// A fresh random key.
pub fn fresh_key() -> SigningKey {
    SigningKey::generate(&mut OsRng)
}

/// Reads whole frames from a peering, keeping partial ones across reads.
pub struct FrameReader {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl FrameReader {
    /// Reads from `stream`, waiting at most `poll` per read.
    pub fn new(stream: TcpStream, poll: Duration) -> FrameReader {
        stream.set_read_timeout(Some(poll)).expect("timeout");
        FrameReader {
            stream,
            pending: Vec::new(),
        }
    }

    /// The stream, for writing.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// The whole frames that arrived within one poll; `None` at the end of
    /// the stream.
    pub fn next_frames(&mut self) -> Option<Vec<Vec<u8>>> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
        let mut frames = Vec::new();
        while let Ok(Some(len)) = frame_length(&self.pending) {
            frames.push(self.pending.drain(..len).collect());
        }
        Some(frames)
    }

    /// Reads until a tree announcement arrives; returns its root key and
    /// sequence.
    pub fn root(&mut self, within: Duration) -> Option<(PublicKey, u64)> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            for frame in self.next_frames()? {
                if let Ok(Frame::TreeAnnouncement(announcement)) = Frame::parse(&frame) {
                    let parsed = Announcement::parse(announcement.payload()).ok()?;
                    return Some((parsed.root(), parsed.root_seq()));
                }
            }
        }
        None
    }
}

/// What an honest probe saw.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    /// Frames received from the daemon.
    pub frames: u64,
    /// The longest time between two frames from the daemon.
    pub max_gap: Duration,
    /// Whether the daemon closed the peering.
    pub closed: bool,
    /// The source key and hop limit of each wakeup broadcast received.
    pub broadcasts: Vec<(PublicKey, u8)>,
}

/// An honest peer: handshaken from `source`, it sends a keepalive every
/// second and notes every frame the daemon sends it.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<ProbeReport>,
    /// How long its handshake took.
    pub handshake_took: Duration,
}

impl Probe {
    /// Connects and handshakes; panics if that takes longer than `within`.
    pub fn start(source: IpAddr, target: SocketAddr, within: Duration) -> Probe {
        let started = Instant::now();
        let stream =
            handshaken(source, target, &fresh_key(), within).expect("the honest probe peers");
        let handshake_took = started.elapsed();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || watch(stream, &stopping));
        Probe {
            stop,
            thread,
            handshake_took,
        }
    }

    /// Stops it and returns what it saw.
    pub fn finish(self) -> ProbeReport {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("probe thread")
    }
}

fn watch(stream: TcpStream, stop: &AtomicBool) -> ProbeReport {
    let mut reader = FrameReader::new(stream, Duration::from_millis(50));
    let mut report = ProbeReport::default();
    let mut last_frame = Instant::now();
    let mut last_keepalive = Instant::now();
    let mut keepalive = [0u8; 16];
    let keepalive_len = emit_keepalive(&mut keepalive).expect("keepalive");
    while !stop.load(Ordering::SeqCst) {
        let Some(frames) = reader.next_frames() else {
            report.closed = true;
            break;
        };
        let now = Instant::now();
        if !frames.is_empty() {
            report.max_gap = report.max_gap.max(now - last_frame);
            last_frame = now;
            report.frames += frames.len() as u64;
        }
        for frame in &frames {
            if let Ok(Frame::WakeupBroadcast(broadcast)) = Frame::parse(frame) {
                report
                    .broadcasts
                    .push((broadcast.source_key(), broadcast.hop_limit()));
            }
        }
        if last_keepalive.elapsed() >= Duration::from_secs(1) {
            let _ = reader.stream().write_all(&keepalive[..keepalive_len]);
            last_keepalive = Instant::now();
        }
    }
    report.max_gap = report.max_gap.max(last_frame.elapsed());
    report
}

/// A background attack, stopped and joined on [`finish`](Attack::finish).
pub struct Attack {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Attack-specific counts (connections opened, frames sent, ...).
    pub counts: Arc<[AtomicU64; 4]>,
}

impl Attack {
    /// Runs `body` on `threads` threads until stopped; each gets the stop
    /// flag, the shared counts and its index.
    pub fn run<F>(threads: usize, body: F) -> Attack
    where
        F: Fn(&AtomicBool, &[AtomicU64; 4], usize) + Send + Sync + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let body = Arc::new(body);
        let threads = (0..threads)
            .map(|index| {
                let (stop, counts, body) =
                    (Arc::clone(&stop), Arc::clone(&counts), Arc::clone(&body));
                thread::spawn(move || body(&stop, &counts, index))
            })
            .collect();
        Attack {
            stop,
            threads,
            counts,
        }
    }

    /// One of the counts now.
    pub fn count(&self, index: usize) -> u64 {
        self.counts[index].load(Ordering::Relaxed)
    }

    /// Stops the attack and waits for its threads.
    pub fn finish(self) -> [u64; 4] {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().expect("attack thread");
        }
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }
}

/// Keeps `sockets` connections from `source` to each of `targets` open
/// that never send a byte, opening a new one whenever the daemon closes
/// one. Counts: 0 = connections opened.
pub fn slot_holders(source: IpAddr, targets: &[SocketAddr], sockets: usize) -> Attack {
    let targets = targets.to_vec();
    Attack::run(targets.len(), move |stop, counts, index| {
        let target = targets[index];
        let mut held: Vec<TcpStream> = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            held.retain(|stream| {
                let mut byte = [0u8; 1];
                match stream.peek(&mut byte) {
                    Ok(0) => false,
                    Ok(_) => true,
                    Err(error) => error.kind() == ErrorKind::WouldBlock,
                }
            });
            while held.len() < sockets {
                match connect_from(source, target) {
                    Ok(stream) => {
                        let _ = stream.set_nonblocking(true);
                        held.push(stream);
                        counts[0].fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => break,
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
    })
}
