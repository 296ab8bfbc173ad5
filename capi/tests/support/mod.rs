//! What the C ABI's test programs share: a node handle that frees itself,
//! peering two nodes, delivering a datagram.
// Each test program uses a different part of this module.
#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::net::SocketAddr;
use std::ptr::{null, null_mut};
use std::thread;
use std::time::{Duration, Instant};

use pinecone::*;

/// How long two nodes may take to peer and find a route.
pub const CONVERGENCE: Duration = Duration::from_secs(20);

pub fn last_error() -> String {
    // SAFETY: the library returns a NUL-terminated string valid until the
    // next failure on this thread.
    unsafe { CStr::from_ptr(pinecone_last_error()) }
        .to_str()
        .unwrap()
        .to_owned()
}

/// A node handle freed when dropped.
pub struct Handle(pub *mut PineconeNode);

// SAFETY: the ABI promises every function may be called from any thread.
unsafe impl Send for Handle {}
// SAFETY: as above; the handle is only read through the ABI.
unsafe impl Sync for Handle {}

impl Handle {
    pub fn new(seed: Option<[u8; 32]>) -> Handle {
        let seed_ptr = seed.as_ref().map_or(null(), |seed| seed.as_ptr());
        // SAFETY: NULL or a 32-byte seed.
        let node = unsafe { pinecone_node_new(seed_ptr) };
        assert!(!node.is_null(), "node_new failed: {}", last_error());
        Handle(node)
    }

    pub fn key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        // SAFETY: a live handle and 32 writable bytes.
        unsafe { pinecone_node_public_key(self.0, key.as_mut_ptr()) };
        key
    }

    pub fn listen(&self) -> SocketAddr {
        let addr = CString::new("127.0.0.1:0").unwrap();
        let mut bound = [0 as c_char; 64];
        // SAFETY: a live handle, a C string and a 64-byte buffer.
        let status = unsafe {
            pinecone_node_listen_tcp(self.0, addr.as_ptr(), bound.as_mut_ptr(), bound.len())
        };
        assert_eq!(status, 0, "listen failed: {}", last_error());
        // SAFETY: the library wrote a NUL-terminated string into `bound`.
        let text = unsafe { CStr::from_ptr(bound.as_ptr()) };
        text.to_str().unwrap().parse().unwrap()
    }

    pub fn connect(&self, uri: &str) -> i32 {
        let uri = CString::new(uri).unwrap();
        // SAFETY: a live handle and a C string.
        unsafe { pinecone_node_connect(self.0, uri.as_ptr()) }
    }

    pub fn send(&self, dest: &[u8; 32], data: &[u8]) -> i32 {
        // SAFETY: a live handle, 32 key bytes, `data.len()` bytes.
        unsafe { pinecone_node_send(self.0, dest.as_ptr(), data.as_ptr(), data.len()) }
    }

    pub fn recv(&self, src: &mut [u8; 32], buf: &mut [u8], timeout_ms: i32) -> i64 {
        // SAFETY: a live handle, 32 writable key bytes, `buf.len()` bytes.
        unsafe {
            pinecone_node_recv(
                self.0,
                src.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                timeout_ms,
            )
        }
    }

    pub fn peer_count(&self) -> usize {
        // SAFETY: a live handle.
        unsafe { pinecone_node_peer_count(self.0) }
    }
}

impl Handle {
    /// The state dump, the peers or any other text answer, read with the
    /// library's ask-then-fetch convention.
    pub fn text(
        &self,
        answer: unsafe extern "C" fn(*mut PineconeNode, *mut c_char, usize) -> i64,
    ) -> String {
        // SAFETY: a live handle; NULL with capacity 0 asks for the length.
        let needed = unsafe { answer(self.0, null_mut(), 0) };
        assert!(needed > 0, "{}", last_error());
        // Room to spare: the answer may grow between the calls.
        let mut buf = vec![0 as c_char; usize::try_from(needed).unwrap() + 4096];
        // SAFETY: a live handle and a buffer of `buf.len()` bytes.
        let written = unsafe { answer(self.0, buf.as_mut_ptr(), buf.len()) };
        assert!(written > 0 && usize::try_from(written).unwrap() <= buf.len());
        // SAFETY: the library wrote a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(text.to_bytes().len() + 1, usize::try_from(written).unwrap());
        text.to_str().unwrap().to_owned()
    }

    /// The peerings, parsed from `pinecone_node_peers_json`.
    pub fn peers(&self) -> Vec<serde_json::Value> {
        match serde_json::from_str(&self.text(pinecone_node_peers_json)).unwrap() {
            serde_json::Value::Array(peers) => peers,
            other => panic!("peers are not an array: {other}"),
        }
    }

    /// The tree coordinates, from `pinecone_node_coords`.
    pub fn coords(&self) -> Vec<u64> {
        let mut coords = [0u64; 64];
        // SAFETY: a live handle and 64 writable numbers.
        let len = unsafe { pinecone_node_coords(self.0, coords.as_mut_ptr(), coords.len()) };
        coords[..usize::try_from(len).unwrap()].to_vec()
    }
}

/// Waits until `done` holds, failing with `what` after [`CONVERGENCE`].
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + CONVERGENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Lowercase hex, as the JSON answers write keys.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: made by `pinecone_node_new`, freed only here.
        unsafe { pinecone_node_free(self.0) };
    }
}

/// Two nodes peered over loopback TCP: `b` dials `a`.
pub fn peered_pair() -> (Handle, Handle) {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let address = a.listen();
    assert_eq!(
        b.connect(&format!("tcp://{address}")),
        0,
        "{}",
        last_error()
    );
    let deadline = Instant::now() + CONVERGENCE;
    while a.peer_count() == 0 || b.peer_count() == 0 {
        assert!(Instant::now() < deadline, "the nodes never peered");
        thread::sleep(Duration::from_millis(20));
    }
    (a, b)
}

/// Sends `payload` from `from` to `to` until `to` receives it; returns what
/// `to` received and who from.
pub fn deliver(from: &Handle, to: &Handle, payload: &[u8]) -> ([u8; 32], Vec<u8>) {
    let deadline = Instant::now() + CONVERGENCE;
    let mut buf = vec![0u8; 2048];
    let mut src = [0u8; 32];
    loop {
        assert!(
            Instant::now() < deadline,
            "never delivered: {}",
            last_error()
        );
        if from.send(&to.key(), payload) != 0 {
            thread::sleep(Duration::from_millis(50));
            continue;
        }
        let len = to.recv(&mut src, &mut buf, 200);
        if len >= 0 {
            buf.truncate(usize::try_from(len).unwrap());
            return (src, buf);
        }
        assert_eq!(len, PINECONE_TIMED_OUT, "recv failed: {}", last_error());
    }
}
