//! What a datagram costs through the C ABI against the Rust `Node` API,
//! measured two ways: datagrams a node sends to itself one at a time (no
//! sockets, so the boundary's own cost shows most), and a windowed stream
//! from one node to another peered over loopback TCP. Prints nanoseconds
//! per datagram for each API (best of several rounds, alternating which
//! goes first) and the ABI's overhead. Run with
//! `cargo bench -p pinecone-capi --bench abi_overhead`.

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
const ROUND: usize = 20_000;
/// Rounds per API; the best counts.
const ROUNDS: usize = 6;
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

fn main() {
    let (abi_a, abi_b) = abi_pair();
    let (rust_a, rust_b) = rust_pair();
    converge(&*rust_a, &*rust_b);
    converge(&*abi_a, &*abi_b);
    let mut rust_best = f64::MAX;
    let mut abi_best = f64::MAX;
    // Alternate which goes first, so that neither always runs warmer.
    for index in 0..ROUNDS {
        if index % 2 == 0 {
            rust_best = rust_best.min(round(&rust_a, &rust_b));
            abi_best = abi_best.min(round(&abi_a, &abi_b));
        } else {
            abi_best = abi_best.min(round(&abi_a, &abi_b));
            rust_best = rust_best.min(round(&rust_a, &rust_b));
        }
    }
    let mut rust_self = f64::MAX;
    let mut abi_self = f64::MAX;
    for index in 0..ROUNDS {
        if index % 2 == 0 {
            rust_self = rust_self.min(self_round(&*rust_a));
            abi_self = abi_self.min(self_round(&*abi_a));
        } else {
            abi_self = abi_self.min(self_round(&*abi_a));
            rust_self = rust_self.min(self_round(&*rust_a));
        }
    }
    println!("{PAYLOAD}-byte datagrams to the node itself, {ROUND} per round, best of {ROUNDS}:");
    println!("  Rust Node API: {rust_self:.0} ns/datagram");
    println!("  C ABI:         {abi_self:.0} ns/datagram");
    println!(
        "  C ABI overhead: {:+.1}%",
        (abi_self / rust_self - 1.0) * 100.0
    );
    println!("{PAYLOAD}-byte datagrams, {ROUND} per round, best of {ROUNDS}:");
    println!("  Rust Node API: {rust_best:.0} ns/datagram");
    println!("  C ABI:         {abi_best:.0} ns/datagram");
    println!(
        "  C ABI overhead: {:+.1}%",
        (abi_best / rust_best - 1.0) * 100.0
    );
}
