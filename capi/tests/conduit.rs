//! Conduits through the C ABI: peerings whose bytes the program carries,
//! here two nodes joined by two conduits and pump threads.

use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pinecone::*;
use support::*;

mod support;

/// A conduit handle freed when dropped.
struct Conduit(*mut PineconeConduit);

// SAFETY: the ABI promises every function may be called from any thread.
unsafe impl Send for Conduit {}
// SAFETY: as above.
unsafe impl Sync for Conduit {}

impl Conduit {
    fn new(node: &Handle, peer_type: i32, zone: &std::ffi::CStr) -> Conduit {
        // SAFETY: a live handle and a C string.
        let conduit = unsafe { pinecone_node_conduit_new(node.0, peer_type, zone.as_ptr()) };
        assert!(!conduit.is_null(), "{}", last_error());
        Conduit(conduit)
    }

    fn with_uri(node: &Handle, zone: &std::ffi::CStr, uri: &std::ffi::CStr) -> Conduit {
        // SAFETY: a live handle and C strings.
        let conduit = unsafe {
            pinecone_node_conduit_new_uri(node.0, PINECONE_PEER_REMOTE, zone.as_ptr(), uri.as_ptr())
        };
        assert!(!conduit.is_null(), "{}", last_error());
        Conduit(conduit)
    }

    fn wait_up(&self, timeout_ms: i32) -> i32 {
        // SAFETY: a live conduit.
        unsafe { pinecone_conduit_wait_up(self.0, timeout_ms) }
    }

    fn read(&self, buf: &mut [u8], timeout_ms: i32) -> i64 {
        // SAFETY: a live conduit and `buf.len()` writable bytes.
        unsafe { pinecone_conduit_read(self.0, buf.as_mut_ptr(), buf.len(), timeout_ms) }
    }

    fn write(&self, data: &[u8]) -> i32 {
        // SAFETY: a live conduit and `data.len()` readable bytes.
        unsafe { pinecone_conduit_write(self.0, data.as_ptr(), data.len()) }
    }

    fn close(&self) -> i32 {
        // SAFETY: a live conduit.
        unsafe { pinecone_conduit_close(self.0) }
    }
}

impl Drop for Conduit {
    fn drop(&mut self) {
        // SAFETY: made by `pinecone_node_conduit_new`, freed only here.
        unsafe { pinecone_conduit_free(self.0) }
    }
}

/// Copies what `from`'s node sends into `to`'s node until `from` ends;
/// returns the bytes moved.
fn pump(from: Arc<Conduit>, to: Arc<Conduit>) -> JoinHandle<usize> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut moved = 0;
        loop {
            match from.read(&mut buf, -1) {
                len if len > 0 => {
                    let len = usize::try_from(len).unwrap();
                    if to.write(&buf[..len]) != 0 {
                        return moved;
                    }
                    moved += len;
                }
                0 => return moved,
                status => panic!("conduit read failed with {status}: {}", last_error()),
            }
        }
    })
}

#[test]
fn null_and_invalid_arguments_fail() {
    let mut buf = [0u8; 8];
    // SAFETY: NULL handles are refused.
    unsafe {
        assert!(pinecone_node_conduit_new(null_mut(), 0, null()).is_null());
        assert!(last_error().contains("node is NULL"));
        assert_eq!(pinecone_conduit_write(null_mut(), buf.as_ptr(), 1), -1);
        assert_eq!(
            pinecone_conduit_read(null_mut(), buf.as_mut_ptr(), 8, 0),
            -1
        );
        assert!(last_error().contains("conduit is NULL"));
        assert_eq!(pinecone_conduit_close(null_mut()), -1);
        pinecone_conduit_free(null_mut());
    }
    let node = Handle::new(None);
    // SAFETY: a live handle; a bad medium is refused.
    assert!(unsafe { pinecone_node_conduit_new(node.0, 5, null()) }.is_null());
    assert!(last_error().contains("5 is not a peer type"));
    let conduit = Conduit::new(&node, PINECONE_PEER_BLUETOOTH, c"hci0");
    // SAFETY: a live conduit with NULL buffers or no room.
    unsafe {
        assert_eq!(pinecone_conduit_write(conduit.0, null(), 3), -1);
        assert!(last_error().contains("data is NULL"));
        assert_eq!(pinecone_conduit_read(conduit.0, null_mut(), 3, 0), -1);
        assert!(last_error().contains("buf is NULL"));
        assert_eq!(pinecone_conduit_read(conduit.0, buf.as_mut_ptr(), 0, 0), -1);
        assert!(last_error().contains("cap is 0"));
    }
}

#[test]
fn a_new_conduit_returns_at_once_and_offers_the_handshake() {
    let node = Handle::new(None);
    let started = Instant::now();
    let conduit = Conduit::new(&node, PINECONE_PEER_BLUETOOTH, c"hci0");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "creating it blocked"
    );
    // The node's half of the handshake comes out first; it names its key.
    let mut buf = [0u8; 256];
    let len = conduit.read(&mut buf, 5_000);
    assert!(len > 32, "{len}: {}", last_error());
    let len = usize::try_from(len).unwrap();
    let key = node.key();
    assert!(buf[..len].windows(32).any(|window| window == key));
    // Nothing more until the remote answers.
    assert_eq!(conduit.read(&mut buf, 100), PINECONE_TIMED_OUT);
    // Close wakes a blocked reader, which sees the end.
    let conduit = Arc::new(conduit);
    let reader = {
        let conduit = Arc::clone(&conduit);
        thread::spawn(move || conduit.read(&mut [0u8; 16], -1))
    };
    thread::sleep(Duration::from_millis(100));
    assert_eq!(conduit.close(), 0);
    assert_eq!(reader.join().unwrap(), 0);
    assert_eq!(conduit.write(b"x"), -1);
    assert_eq!(node.peer_count(), 0);
}

#[test]
fn two_nodes_peer_through_pumped_conduits() {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let a_side = Arc::new(Conduit::new(&a, PINECONE_PEER_BLUETOOTH, c"l2cap"));
    let b_side = Arc::new(Conduit::new(&b, PINECONE_PEER_BLUETOOTH, c"l2cap"));
    let pumps = [
        pump(Arc::clone(&a_side), Arc::clone(&b_side)),
        pump(Arc::clone(&b_side), Arc::clone(&a_side)),
    ];
    wait_for("the conduits to peer", || {
        a.peer_count() == 1 && b.peer_count() == 1
    });
    let peer = &a.peers()[0];
    assert_eq!(peer["key"], hex(&b.key()));
    assert_eq!(peer["peer_type"], i64::from(PINECONE_PEER_BLUETOOTH));
    assert_eq!(peer["zone"], "l2cap");
    let (source, payload) = deliver(&a, &b, b"over bluetooth, as it were");
    assert_eq!(
        (source, payload.as_slice()),
        (a.key(), &b"over bluetooth, as it were"[..])
    );
    let (source, _) = deliver(&b, &a, b"and back");
    assert_eq!(source, b.key());

    // Closing the zone ends the peering; the pumps see the end.
    // SAFETY: a live handle and a C string.
    let closed = unsafe { pinecone_node_disconnect_zone(a.0, c"l2cap".as_ptr()) };
    assert_eq!(closed, 1);
    a_side.close();
    b_side.close();
    for pump in pumps {
        assert!(pump.join().unwrap() > 0);
    }
    wait_for("b to notice", || b.peer_count() == 0);
}

#[test]
fn a_conduit_outlives_its_node() {
    let node = Handle::new(None);
    let conduit = Conduit::new(&node, PINECONE_PEER_PIPE, c"");
    drop(node);
    let mut buf = [0u8; 256];
    // The handshake may still be buffered; then the end, which the node's
    // shutdown brings well before the 10-second handshake deadline.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "the conduit never ended");
        match conduit.read(&mut buf, 1_000) {
            0 => break,
            len if len > 0 || len == PINECONE_TIMED_OUT => {}
            status => panic!("read failed with {status}: {}", last_error()),
        }
    }
}

#[test]
fn waiting_for_the_handshake_tells_up_from_failed() {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let a_side = Arc::new(Conduit::with_uri(&a, c"websocket", c"ws://b.example/"));
    let b_side = Arc::new(Conduit::new(&b, PINECONE_PEER_REMOTE, c"websocket"));
    assert_eq!(a_side.wait_up(100), -2, "no bytes moved yet");
    let pumps = [
        pump(Arc::clone(&a_side), Arc::clone(&b_side)),
        pump(Arc::clone(&b_side), Arc::clone(&a_side)),
    ];
    assert_eq!(a_side.wait_up(-1), 0, "{}", last_error());
    assert_eq!(b_side.wait_up(-1), 0, "{}", last_error());
    assert_eq!(a_side.wait_up(0), 0, "the answer stays");
    assert_eq!(a.peers()[0]["uri"], "ws://b.example/");
    assert_eq!(b.peers()[0]["uri"], "conduit");
    a_side.close();
    b_side.close();
    for pump in pumps {
        pump.join().unwrap();
    }

    // A remote that answers the handshake with garbage.
    let c = Handle::new(None);
    let broken = Conduit::new(&c, PINECONE_PEER_REMOTE, c"");
    assert_eq!(broken.write(&[0u8; 104]), 0);
    assert_eq!(broken.wait_up(-1), -1);
    assert!(!last_error().is_empty());
    // SAFETY: NULL is refused.
    assert_eq!(unsafe { pinecone_conduit_wait_up(null_mut(), 0) }, -1);
}
