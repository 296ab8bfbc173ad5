//! What a datagram costs through the C ABI against the Rust `Node` API,
//! measured two ways: datagrams a node sends to itself one at a time (no
//! sockets, so the boundary's own cost shows most), and a windowed stream
//! from one node to another peered over loopback TCP.
//!
//! A shared machine's load drifts, so the two APIs run in many short
//! rounds, interleaved in pairs (which one goes first alternates). Each
//! pair gives a ratio of their costs measured moments apart; the overhead
//! reported is the median of those ratios, with its interquartile range,
//! beside the median nanoseconds per datagram of each API.
//!
//! A third measurement is the check for a datagram on an empty queue, a
//! receive with a zero timeout, as a host with its own event loop calls
//! it after every wakeup: `pinecone_node_recv(…, 0)` against
//! `Node::recv_timeout(Duration::ZERO)`, which is what the C ABI called
//! before the zero timeout got a path of its own, and against
//! `Node::try_recv`, interleaved in the same way.
//!
//! Run with `cargo bench -p pinecone-capi --bench abi_overhead`; name
//! sections (`self`, `tcp`, `empty`) after `--` to run only those.

use std::ffi::{c_char, CStr};
use std::ptr::null;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use pinecone::*;
use pinecone_engine::wire::PublicKey;
use pinecone_transports::{Node, NodeConfig};

/// Datagrams per round.
const ROUND: usize = 2_000;
/// Pairs of rounds (one per API) per measurement.
const PAIRS: usize = 60;
/// Datagrams in flight at most, well under the delivery queue.
const WINDOW: usize = 256;
/// The payload's size, a typical small QUIC packet.
const PAYLOAD: usize = 256;

/// One side of the stream.
trait Endpoint: Send + Sync {
    fn key(&self) -> [u8; 32];
    fn send(&self, dest: &[u8; 32], data: &[u8]) -> bool;
    fn recv(&self, buf: &mut [u8]) -> Option<usize>;
}

impl Endpoint for Node {
    fn key(&self) -> [u8; 32] {
        self.public_key().0
    }
    fn send(&self, dest: &[u8; 32], data: &[u8]) -> bool {
        Node::send(self, PublicKey(*dest), data).is_ok()
    }
    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        let datagram = self.recv_timeout(Duration::from_secs(5))?;
        buf[..datagram.payload.len()].copy_from_slice(&datagram.payload);
        Some(datagram.payload.len())
    }
}

/// A node behind the C ABI.
struct AbiNode(*mut PineconeNode);

// SAFETY: every ABI function may be called from any thread.
unsafe impl Send for AbiNode {}
// SAFETY: as above.
unsafe impl Sync for AbiNode {}

impl Drop for AbiNode {
    fn drop(&mut self) {
        // SAFETY: made by `pinecone_node_new`, freed once.
        unsafe { pinecone_node_free(self.0) }
    }
}

impl Endpoint for AbiNode {
    fn key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        // SAFETY: a live handle and 32 writable bytes.
        unsafe { pinecone_node_public_key(self.0, key.as_mut_ptr()) };
        key
    }
    fn send(&self, dest: &[u8; 32], data: &[u8]) -> bool {
        // SAFETY: a live handle, a 32-byte key and `data.len()` bytes.
        unsafe { pinecone_node_send(self.0, dest.as_ptr(), data.as_ptr(), data.len()) == 0 }
    }
    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        let mut src = [0u8; 32];
        // SAFETY: a live handle, 32 writable bytes and `buf.len()` bytes.
        let len = unsafe {
            pinecone_node_recv(self.0, src.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), 5_000)
        };
        usize::try_from(len).ok()
    }
}

fn abi_pair() -> (Arc<AbiNode>, Arc<AbiNode>) {
    // SAFETY: NULL asks for a random key.
    let (a, b) = unsafe { (pinecone_node_new(null()), pinecone_node_new(null())) };
    assert!(!a.is_null() && !b.is_null());
    let mut bound = [0 as c_char; 64];
    // SAFETY: live handles, C strings and a 64-byte buffer.
    unsafe {
        assert_eq!(
            pinecone_node_listen_tcp(a, c"127.0.0.1:0".as_ptr(), bound.as_mut_ptr(), 64),
            0
        );
        assert_eq!(
            pinecone_node_connect(b, CStr::from_ptr(bound.as_ptr()).as_ptr()),
            0
        );
    }
    (Arc::new(AbiNode(a)), Arc::new(AbiNode(b)))
}

fn rust_pair() -> (Arc<Node>, Arc<Node>) {
    let a = Node::random(NodeConfig::default()).expect("node");
    let b = Node::random(NodeConfig::default()).expect("node");
    let address = a.listen_tcp("127.0.0.1:0").expect("listen");
    b.connect(&address.to_string()).expect("connect");
    (Arc::new(a), Arc::new(b))
}

/// Waits until a datagram crosses from `from` to `to`.
fn converge(from: &dyn Endpoint, to: &dyn Endpoint) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; PAYLOAD];
    while !(from.send(&to.key(), b"probe") && to.recv(&mut buf).is_some()) {
        assert!(Instant::now() < deadline, "the nodes never converged");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `ROUND` datagrams from `node` to itself, one at a time, each
/// received before the next is sent; nanoseconds per datagram. No socket
/// or other node is involved, so the boundary's own cost shows.
fn self_round(node: &dyn Endpoint) -> f64 {
    let key = node.key();
    let payload = [0x5au8; PAYLOAD];
    let mut buf = [0u8; PAYLOAD];
    let started = Instant::now();
    for _ in 0..ROUND {
        assert!(node.send(&key, &payload), "send to self failed");
        assert!(node.recv(&mut buf).is_some(), "a datagram to self was lost");
    }
    started.elapsed().as_nanos() as f64 / ROUND as f64
}

/// Streams one round from `from` to `to`; nanoseconds per datagram.
fn round<E: Endpoint + 'static>(from: &Arc<E>, to: &Arc<E>) -> f64 {
    let received = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (to, received) = (Arc::clone(to), Arc::clone(&received));
        thread::spawn(move || {
            let mut buf = [0u8; PAYLOAD];
            while received.load(Ordering::Relaxed) < ROUND {
                assert!(to.recv(&mut buf).is_some(), "a datagram was lost");
                received.fetch_add(1, Ordering::Release);
            }
        })
    };
    let dest = to.key();
    let payload = [0x5au8; PAYLOAD];
    let started = Instant::now();
    for sent in 0..ROUND {
        while sent - received.load(Ordering::Acquire) >= WINDOW {
            thread::yield_now();
        }
        assert!(from.send(&dest, &payload), "send failed");
    }
    reader.join().expect("the reader panicked");
    started.elapsed().as_nanos() as f64 / ROUND as f64
}

/// The value at quantile `q` (0 to 1) of `values`, by nearest rank.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank).copied().unwrap_or(f64::NAN)
}

/// Runs `PAIRS` pairs of rounds, alternating which API goes first, and
/// prints the medians and the overhead.
fn measure(title: &str, mut rust: impl FnMut() -> f64, mut abi: impl FnMut() -> f64) {
    let mut rust_ns = Vec::with_capacity(PAIRS);
    let mut abi_ns = Vec::with_capacity(PAIRS);
    let mut ratios = Vec::with_capacity(PAIRS);
    for index in 0..PAIRS {
        let (r, a) = if index % 2 == 0 {
            let r = rust();
            (r, abi())
        } else {
            let a = abi();
            (rust(), a)
        };
        rust_ns.push(r);
        abi_ns.push(a);
        ratios.push(a / r);
    }
    let overhead = |q| (quantile(&ratios, q) - 1.0) * 100.0;
    println!("{title}, {PAIRS} interleaved pairs of {ROUND}-datagram rounds:");
    println!(
        "  Rust Node API: {:.0} ns/datagram (median; quartiles {:.0}–{:.0})",
        quantile(&rust_ns, 0.5),
        quantile(&rust_ns, 0.25),
        quantile(&rust_ns, 0.75)
    );
    println!(
        "  C ABI:         {:.0} ns/datagram (median; quartiles {:.0}–{:.0})",
        quantile(&abi_ns, 0.5),
        quantile(&abi_ns, 0.25),
        quantile(&abi_ns, 0.75)
    );
    println!(
        "  C ABI overhead: {:+.1}% (median of paired ratios; quartiles {:+.1}% to {:+.1}%)",
        overhead(0.5),
        overhead(0.25),
        overhead(0.75)
    );
}

/// Zero-timeout receives on an empty queue per round.
const CHECKS: usize = 20_000;

/// Times `CHECKS` calls of `check`, each of which must find the queue
/// empty; nanoseconds per call.
fn empty_round(mut check: impl FnMut() -> bool) -> f64 {
    let started = Instant::now();
    for _ in 0..CHECKS {
        assert!(check(), "the queue was not empty");
    }
    started.elapsed().as_nanos() as f64 / CHECKS as f64
}

/// The empty-queue check through the C ABI and through the Rust API's
/// two ways, in interleaved rounds; prints the medians and the ratios.
fn measure_empty_checks() {
    let abi = {
        // SAFETY: NULL asks for a random key.
        let node = unsafe { pinecone_node_new(null()) };
        assert!(!node.is_null());
        AbiNode(node)
    };
    let rust = Node::random(NodeConfig::default()).expect("node");
    let mut src = [0u8; 32];
    let mut buf = [0u8; PAYLOAD];
    let mut abi_check = || {
        // SAFETY: a live handle, 32 writable bytes and `buf.len()` bytes.
        let answer =
            unsafe { pinecone_node_recv(abi.0, src.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), 0) };
        answer == PINECONE_TIMED_OUT
    };
    let mut timeout_check = || rust.recv_timeout(Duration::ZERO).is_none();
    let mut try_check = || rust.try_recv().is_none();
    let (mut abi_ns, mut timeout_ns, mut try_ns, mut ratios) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for index in 0..PAIRS {
        let (a, t, r) = if index % 2 == 0 {
            let a = empty_round(&mut abi_check);
            let t = empty_round(&mut timeout_check);
            (a, t, empty_round(&mut try_check))
        } else {
            let r = empty_round(&mut try_check);
            let t = empty_round(&mut timeout_check);
            (empty_round(&mut abi_check), t, r)
        };
        abi_ns.push(a);
        timeout_ns.push(t);
        try_ns.push(r);
        ratios.push(a / t);
    }
    let median = |values: &[f64]| quantile(values, 0.5);
    println!(
        "a receive with a zero timeout on an empty queue, {PAIRS} interleaved rounds of {CHECKS}:"
    );
    println!(
        "  pinecone_node_recv(…, 0):          {:.0} ns (median; quartiles {:.0}–{:.0})",
        median(&abi_ns),
        quantile(&abi_ns, 0.25),
        quantile(&abi_ns, 0.75)
    );
    println!(
        "  Node::recv_timeout(ZERO):          {:.0} ns (median; quartiles {:.0}–{:.0})",
        median(&timeout_ns),
        quantile(&timeout_ns, 0.25),
        quantile(&timeout_ns, 0.75)
    );
    println!(
        "  Node::try_recv():                  {:.0} ns (median; quartiles {:.0}–{:.0})",
        median(&try_ns),
        quantile(&try_ns, 0.25),
        quantile(&try_ns, 0.75)
    );
    println!(
        "  C ABI ÷ Node::recv_timeout(ZERO):  {:.3} (median of paired ratios; quartiles {:.3}–{:.3})",
        median(&ratios),
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75)
    );
}

/// Whether the section `name` runs: every section when none is named
/// on the command line (cargo's own `--bench` flag aside).
fn wanted(name: &str) -> bool {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    named.is_empty() || named.iter().any(|arg| arg == name)
}

fn main() {
    if wanted("empty") {
        measure_empty_checks();
    }
    if !wanted("self") && !wanted("tcp") {
        return;
    }
    let (abi_a, abi_b) = abi_pair();
    let (rust_a, rust_b) = rust_pair();
    converge(&*rust_a, &*rust_b);
    converge(&*abi_a, &*abi_b);
    // Warm both up before measuring.
    round(&rust_a, &rust_b);
    round(&abi_a, &abi_b);
    if wanted("self") {
        measure(
            &format!("{PAYLOAD}-byte datagrams to the node itself"),
            || self_round(&*rust_a),
            || self_round(&*abi_a),
        );
    }
    if wanted("tcp") {
        measure(
            &format!("{PAYLOAD}-byte datagrams over loopback TCP"),
            || round(&rust_a, &rust_b),
            || round(&abi_a, &abi_b),
        );
    }
}
