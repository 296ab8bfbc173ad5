//! The C ABI called the way a C program calls it: raw pointers, NULLs,
//! short buffers, timeouts, and real datagrams between two nodes.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};
use std::thread;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use pinecone::*;
use support::*;

mod support;

#[test]
fn null_arguments_fail_with_a_reason() {
    let mut key = [0u8; 32];
    let text = CString::new("127.0.0.1:0").unwrap();
    // SAFETY: every pointer is NULL or valid; NULL handles must be refused.
    unsafe {
        pinecone_node_free(null_mut());
        pinecone_node_public_key(null(), key.as_mut_ptr());
        assert!(last_error().contains("node is NULL"));
        assert_eq!(
            pinecone_node_listen_tcp(null_mut(), text.as_ptr(), null_mut(), 0),
            -1
        );
        assert_eq!(pinecone_node_connect(null_mut(), text.as_ptr()), -1);
        assert_eq!(pinecone_node_send(null_mut(), key.as_ptr(), null(), 0), -1);
        assert_eq!(
            pinecone_node_recv(null_mut(), key.as_mut_ptr(), null_mut(), 0, 0),
            -1
        );
        assert_eq!(pinecone_node_peer_count(null()), 0);
        assert!(last_error().contains("node is NULL"));
    }
    assert_eq!(key, [0u8; 32], "nothing was written");

    let node = Handle::new(None);
    // SAFETY: a live handle; the other pointers are NULL on purpose.
    unsafe {
        pinecone_node_public_key(node.0, null_mut());
        assert!(last_error().contains("out32 is NULL"));
        assert_eq!(pinecone_node_listen_tcp(node.0, null(), null_mut(), 0), -1);
        assert!(last_error().contains("addr is NULL"));
        assert_eq!(pinecone_node_connect(node.0, null()), -1);
        assert!(last_error().contains("uri is NULL"));
        assert_eq!(pinecone_node_send(node.0, null(), null(), 0), -1);
        assert!(last_error().contains("dest32 is NULL"));
        assert_eq!(pinecone_node_send(node.0, key.as_ptr(), null(), 5), -1);
        assert!(last_error().contains("data is NULL"));
        assert_eq!(pinecone_node_recv(node.0, null_mut(), null_mut(), 0, 0), -1);
        assert!(last_error().contains("src32 is NULL"));
        assert_eq!(
            pinecone_node_recv(node.0, key.as_mut_ptr(), null_mut(), 16, 0),
            -1
        );
        assert!(last_error().contains("buf is NULL"));
    }
}

#[test]
fn malformed_text_arguments_fail() {
    let node = Handle::new(None);
    assert_eq!(node.connect("gopher://example"), -1);
    assert!(!last_error().is_empty());
    let not_utf8 = [0xffu8 as c_char, 0];
    let mut bound = [0 as c_char; 64];
    // SAFETY: a live handle, a NUL-terminated byte string and a buffer.
    let status = unsafe {
        pinecone_node_listen_tcp(node.0, not_utf8.as_ptr(), bound.as_mut_ptr(), bound.len())
    };
    assert_eq!(status, -1);
    assert!(last_error().contains("addr is not UTF-8"));
}

#[test]
fn the_key_comes_from_the_seed() {
    let seed = [7u8; 32];
    let node = Handle::new(Some(seed));
    let expected = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    assert_eq!(node.key(), expected);
    let random = Handle::new(None);
    assert_ne!(random.key(), expected);
}

#[test]
fn listen_reports_the_bound_address_or_a_short_buffer() {
    let node = Handle::new(None);
    let address = node.listen();
    assert!(address.ip().is_loopback());
    assert_ne!(address.port(), 0);

    let addr = CString::new("127.0.0.1:0").unwrap();
    let mut short = [0x55 as c_char; 4];
    // SAFETY: a live handle, a C string and a 4-byte buffer.
    let status =
        unsafe { pinecone_node_listen_tcp(node.0, addr.as_ptr(), short.as_mut_ptr(), short.len()) };
    assert_eq!(status, -1);
    assert!(
        last_error().contains("bound holds 4 bytes"),
        "{}",
        last_error()
    );
    assert_eq!(short, [0x55 as c_char; 4], "a short buffer is left alone");
}

#[test]
fn recv_times_out_with_minus_two() {
    let node = Handle::new(None);
    let mut src = [0u8; 32];
    let mut buf = [0u8; 16];
    assert_eq!(node.recv(&mut src, &mut buf, 0), PINECONE_TIMED_OUT);
    let started = Instant::now();
    assert_eq!(node.recv(&mut src, &mut buf, 150), PINECONE_TIMED_OUT);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn datagrams_cross_both_ways_and_short_buffers_fail() {
    let (a, b) = peered_pair();
    let (source, payload) = deliver(&a, &b, b"hello from a");
    assert_eq!(source, a.key());
    assert_eq!(payload, b"hello from a");
    let (source, payload) = deliver(&b, &a, b"hello from b");
    assert_eq!(source, b.key());
    assert_eq!(payload, b"hello from b");

    // A datagram longer than the buffer fails, says so, and stays first
    // in line for a bigger buffer.
    assert_eq!(a.send(&b.key(), &[9u8; 100]), 0, "{}", last_error());
    let mut src = [0u8; 32];
    let mut small = [0u8; 10];
    assert_eq!(b.recv(&mut src, &mut small, 5_000), -1);
    assert!(
        last_error().contains("100-byte datagram"),
        "{}",
        last_error()
    );
    assert_eq!(small, [0u8; 10]);
    assert_eq!(src, [0u8; 32]);
    assert_eq!(a.send(&b.key(), b"later"), 0, "{}", last_error());
    assert_eq!(b.recv(&mut src, &mut small, 5_000), -1, "still too long");
    let mut big = [0u8; 100];
    assert_eq!(b.recv(&mut src, &mut big, 5_000), 100, "{}", last_error());
    assert_eq!((src, big), (a.key(), [9u8; 100]));
    assert_eq!(b.recv(&mut src, &mut small, 5_000), 5, "{}", last_error());
    assert_eq!(&small[..5], b"later");
    assert_eq!(b.recv(&mut src, &mut small, 100), PINECONE_TIMED_OUT);
}

#[test]
fn free_wakes_a_blocked_receiver() {
    let node = Handle::new(None);
    let pointer = node.0 as usize;
    let receiver = thread::spawn(move || {
        let mut src = [0u8; 32];
        let mut buf = [0u8; 16];
        let node = pointer as *mut PineconeNode;
        // SAFETY: the handle is live until `free`, which waits for this call.
        let status =
            unsafe { pinecone_node_recv(node, src.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), -1) };
        (status, last_error())
    });
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    drop(node);
    let (status, message) = receiver.join().unwrap();
    assert_eq!(status, -1);
    assert!(message.contains("shut down"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn errors_belong_to_the_thread_that_failed() {
    // SAFETY: NULL is refused.
    assert_eq!(unsafe { pinecone_node_peer_count(null()) }, 0);
    assert!(!last_error().is_empty());
    let elsewhere = thread::spawn(last_error).join().unwrap();
    assert_eq!(elsewhere, "");
}

#[test]
fn version_is_the_package_version() {
    // SAFETY: a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(pinecone_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_blocked_receiver_does_not_hold_up_senders() {
    let (a, b) = peered_pair();
    let b_key = b.key();
    let b = std::sync::Arc::new(b);
    let waiting = {
        let b = std::sync::Arc::clone(&b);
        thread::spawn(move || {
            let mut src = [0u8; 32];
            let mut buf = [0u8; 64];
            let len = b.recv(&mut src, &mut buf, -1);
            (src, buf[..usize::try_from(len).unwrap()].to_vec())
        })
    };
    thread::sleep(Duration::from_millis(100));
    // b sends while its own receiver waits with no timeout.
    let (source, payload) = deliver(&b, &a, b"while b waits");
    assert_eq!((source, payload.as_slice()), (b_key, &b"while b waits"[..]));
    assert_eq!(a.send(&b_key, b"wake up"), 0, "{}", last_error());
    let (source, payload) = waiting.join().unwrap();
    assert_eq!(source, a.key());
    assert_eq!(payload, b"wake up");
}

#[test]
fn shutdown_wakes_a_receiver_and_fails_later_calls() {
    // SAFETY: NULL is refused.
    assert_eq!(unsafe { pinecone_node_shutdown(null_mut()) }, -1);
    let node = std::sync::Arc::new(Handle::new(None));
    let receiver = {
        let node = std::sync::Arc::clone(&node);
        thread::spawn(move || {
            let mut src = [0u8; 32];
            let mut buf = [0u8; 16];
            (node.recv(&mut src, &mut buf, -1), last_error())
        })
    };
    thread::sleep(Duration::from_millis(200));
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_shutdown(node.0) }, 0);
    let (status, message) = receiver.join().unwrap();
    assert_eq!(status, -1);
    assert!(message.contains("shut down"), "{message}");
    assert_eq!(node.send(&node.key(), b"x"), -1);
    assert!(last_error().contains("shut down"), "{}", last_error());
    // SAFETY: a live handle; shutting down twice is fine.
    assert_eq!(unsafe { pinecone_node_shutdown(node.0) }, 0);
}

#[test]
fn the_datagram_descriptor_wakes_an_epoll_loop_and_a_zero_timeout_only_looks() {
    use rustix::buffer::spare_capacity;
    use rustix::event::{epoll, Timespec};
    use std::os::fd::BorrowedFd;
    use std::sync::Arc;

    let node = Arc::new(Handle::new(None));
    // SAFETY: a live handle.
    let fd = unsafe { pinecone_node_datagram_fd(node.0) };
    assert!(fd >= 0, "{}", last_error());
    // SAFETY: as above.
    assert_eq!(unsafe { pinecone_node_datagram_fd(node.0) }, fd);
    // SAFETY: NULL is refused.
    assert_eq!(unsafe { pinecone_node_datagram_fd(null_mut()) }, -1);
    let poller = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
    // SAFETY: the node's descriptor stays open until the node is freed,
    // after the last wait below.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::add(
        &poller,
        borrowed,
        epoll::EventData::new_u64(1),
        epoll::EventFlags::IN,
    )
    .unwrap();
    let wait = |ms: u64| {
        let mut events = Vec::with_capacity(4);
        let timeout = Timespec::try_from(Duration::from_millis(ms)).unwrap();
        epoll::wait(&poller, spare_capacity(&mut events), Some(&timeout)).unwrap();
        events.len()
    };
    let (mut src, mut buf) = ([0u8; 32], [0u8; 64]);
    assert_eq!(wait(0), 0);
    assert_eq!(node.recv(&mut src, &mut buf, 0), PINECONE_TIMED_OUT);
    let sender = {
        let node = Arc::clone(&node);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            assert_eq!(node.send(&node.key(), b"wake"), 0, "{}", last_error());
        })
    };
    assert_eq!(wait(10_000), 1, "the datagram wakes the loop");
    sender.join().unwrap();
    // Too short a buffer: the datagram stays, and so does readability.
    assert_eq!(node.recv(&mut src, &mut buf[..2], 0), -1);
    assert_eq!(wait(0), 1);
    assert_eq!(node.recv(&mut src, &mut buf, 0), 4);
    assert_eq!((&buf[..4], src), (&b"wake"[..], node.key()));
    assert_eq!(wait(0), 0, "quiet once the queue is empty");
    assert_eq!(node.recv(&mut src, &mut buf, 0), PINECONE_TIMED_OUT);
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_shutdown(node.0) }, 0);
    assert_eq!(wait(10_000), 1, "a shut-down node wakes the loop");
    assert_eq!(node.recv(&mut src, &mut buf, 0), -1);
}

#[test]
fn the_largest_frame_is_the_protocols() {
    assert_eq!(PINECONE_MAX_FRAME_SIZE, 65_535);
}
