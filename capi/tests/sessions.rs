//! Session streams through the C ABI: a megabyte echoed intact over one
//! stream between two nodes, the accepted stream's key, the session list,
//! cancelling dials, unlistening waking accepts, and bad arguments.

mod support;

use std::ffi::{c_char, CString};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::ptr::{null, null_mut};
use std::thread;
use std::time::Duration;

use pinecone::*;
use support::{deliver, hex, last_error, peered_pair, wait_for, Handle};

const TIMED_OUT: i32 = PINECONE_TIMED_OUT as i32;

fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

/// The caller's stream behind a descriptor the library returned.
fn stream(fd: i32) -> UnixStream {
    assert!(fd >= 0, "no descriptor: {fd}: {}", last_error());
    // SAFETY: the library hands over a connected socket the caller owns.
    unsafe { UnixStream::from_raw_fd(fd) }
}

fn sessions_json(node: &Handle) -> serde_json::Value {
    // SAFETY: a live handle; NULL with capacity 0 asks for the length.
    let needed = unsafe { pinecone_node_sessions_json(node.0, null_mut(), 0) };
    assert!(needed > 0, "{}", last_error());
    let mut buf = vec![0 as c_char; usize::try_from(needed).unwrap() + 1024];
    // SAFETY: a live handle and `buf.len()` writable bytes.
    let written = unsafe { pinecone_node_sessions_json(node.0, buf.as_mut_ptr(), buf.len()) };
    assert!(written > 0);
    let bytes: Vec<u8> = buf[..usize::try_from(written).unwrap() - 1]
        .iter()
        .map(|&b| b as u8)
        .collect();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_megabyte_is_echoed_intact_and_the_accepted_stream_names_the_dialler() {
    let (a, b) = peered_pair();
    deliver(&a, &b, b"route");
    deliver(&b, &a, b"route");
    let protocol = c("echo");
    // SAFETY: a live handle and a C string.
    let answer = unsafe { pinecone_node_sessions_listen(a.0, protocol.as_ptr()) };
    assert_eq!(answer, 0);
    let a_ptr = a.0 as usize;
    let server = thread::spawn(move || {
        let protocol = c("echo");
        let mut key = [0u8; 32];
        // SAFETY: the handle outlives this thread (joined below); a C
        // string and 32 writable bytes.
        let fd = unsafe {
            pinecone_node_session_accept(
                a_ptr as *mut PineconeNode,
                protocol.as_ptr(),
                key.as_mut_ptr(),
                30_000,
            )
        };
        let mut socket = stream(fd);
        let mut data = Vec::new();
        socket.read_to_end(&mut data).unwrap();
        socket.write_all(&data).unwrap();
        // Closing flushes the echo and finishes the stream.
        drop(socket);
        key
    });
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
    // SAFETY: a live handle, 32 key bytes and a C string.
    let fd =
        unsafe { pinecone_node_session_dial(b.0, a.key().as_ptr(), protocol.as_ptr(), 30_000) };
    let socket = stream(fd);
    let writer = {
        let mut socket = socket.try_clone().unwrap();
        let data = data.clone();
        thread::spawn(move || {
            socket.write_all(&data).unwrap();
            socket.shutdown(Shutdown::Write).unwrap();
        })
    };
    let mut echoed = Vec::new();
    (&socket).read_to_end(&mut echoed).unwrap();
    writer.join().unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echo differs");
    assert_eq!(server.join().unwrap(), b.key());
    // SAFETY: live handles.
    assert_eq!(unsafe { pinecone_node_session_count(a.0) }, 1);
    // SAFETY: as above.
    assert_eq!(unsafe { pinecone_node_session_count(b.0) }, 1);
    let listed = sessions_json(&b);
    assert_eq!(listed[0]["key"], hex(&a.key()));
    assert_eq!(listed[0]["protocol"], "echo");
    assert_eq!(listed[0]["outbound"], true);
    // SAFETY: a live handle and 32 key bytes.
    let answer = unsafe { pinecone_node_sessions_close(b.0, a.key().as_ptr()) };
    assert_eq!(answer, 1);
    // SAFETY: live handles.
    wait_for("both sides see the session end", || unsafe {
        pinecone_node_session_count(a.0) == 0 && pinecone_node_session_count(b.0) == 0
    });
}

#[test]
fn unlistening_wakes_accepts_and_cancelling_fails_dials() {
    let node = Handle::new(None);
    let protocol = c("chat");
    // SAFETY: a live handle and a C string.
    let answer = unsafe { pinecone_node_sessions_listen(node.0, protocol.as_ptr()) };
    assert_eq!(answer, 0);
    let mut key = [0u8; 32];
    // SAFETY: a live handle, a C string, 32 writable bytes.
    let waited =
        unsafe { pinecone_node_session_accept(node.0, protocol.as_ptr(), key.as_mut_ptr(), 0) };
    assert_eq!(waited, TIMED_OUT);
    let node_ptr = node.0 as usize;
    let accepting = thread::spawn(move || {
        let protocol = c("chat");
        let mut key = [0u8; 32];
        // SAFETY: the handle outlives this thread (joined below).
        unsafe {
            pinecone_node_session_accept(
                node_ptr as *mut PineconeNode,
                protocol.as_ptr(),
                key.as_mut_ptr(),
                -1,
            )
        }
    });
    // A key nobody has: the dial waits until cancelled.
    let nobody = [0x5a; 32];
    let dialling = thread::spawn(move || {
        let protocol = c("chat");
        // SAFETY: the handle outlives this thread (joined below).
        unsafe {
            pinecone_node_session_dial(
                node_ptr as *mut PineconeNode,
                nobody.as_ptr(),
                protocol.as_ptr(),
                60_000,
            )
        }
    });
    thread::sleep(Duration::from_millis(300));
    // SAFETY: a live handle, 32 key bytes, a C string.
    let cancelled =
        unsafe { pinecone_node_session_dial_cancel(node.0, nobody.as_ptr(), protocol.as_ptr()) };
    assert_eq!(cancelled, 1, "{}", last_error());
    assert_eq!(dialling.join().unwrap(), -1);
    // SAFETY: a live handle and a C string.
    let answer = unsafe { pinecone_node_sessions_unlisten(node.0, protocol.as_ptr()) };
    assert_eq!(answer, 0);
    assert_eq!(accepting.join().unwrap(), -1);
    // Not listening any more: both fail at once.
    // SAFETY: as above.
    let answer = unsafe { pinecone_node_sessions_unlisten(node.0, protocol.as_ptr()) };
    assert_eq!(answer, -1);
    // SAFETY: as above.
    let late =
        unsafe { pinecone_node_session_accept(node.0, protocol.as_ptr(), key.as_mut_ptr(), 0) };
    assert_eq!(late, -1);
}

#[test]
fn bad_arguments_fail_with_minus_one() {
    let node = Handle::new(None);
    let protocol = c("p");
    let empty = c("");
    let key = [1u8; 32];
    let mut out = [0u8; 32];
    // SAFETY: every pointer is NULL, a live handle, a C string or 32 bytes.
    unsafe {
        assert_eq!(
            pinecone_node_sessions_listen(null_mut(), protocol.as_ptr()),
            -1
        );
        assert_eq!(pinecone_node_sessions_listen(node.0, null()), -1);
        assert_eq!(pinecone_node_sessions_listen(node.0, empty.as_ptr()), -1);
        assert_eq!(pinecone_node_sessions_unlisten(node.0, null()), -1);
        assert_eq!(pinecone_node_sessions_listen(node.0, protocol.as_ptr()), 0);
        assert_eq!(
            pinecone_node_session_accept(node.0, protocol.as_ptr(), null_mut(), 0),
            -1
        );
        assert_eq!(
            pinecone_node_session_accept(node.0, null(), out.as_mut_ptr(), 0),
            -1
        );
        assert_eq!(
            pinecone_node_session_accept(null_mut(), protocol.as_ptr(), out.as_mut_ptr(), 0),
            -1
        );
        assert_eq!(
            pinecone_node_session_dial(node.0, null(), protocol.as_ptr(), 0),
            -1
        );
        assert_eq!(
            pinecone_node_session_dial(node.0, key.as_ptr(), null(), 0),
            -1
        );
        assert_eq!(
            pinecone_node_session_dial(node.0, key.as_ptr(), empty.as_ptr(), 0),
            -1
        );
        assert_eq!(
            pinecone_node_session_dial(null_mut(), key.as_ptr(), protocol.as_ptr(), 0),
            -1
        );
        let own = node.key();
        assert_eq!(
            pinecone_node_session_dial(node.0, own.as_ptr(), protocol.as_ptr(), 1_000),
            -1
        );
        assert!(last_error().contains("itself"), "{}", last_error());
        assert_eq!(
            pinecone_node_session_dial_cancel(node.0, null(), protocol.as_ptr()),
            -1
        );
        assert_eq!(
            pinecone_node_session_dial_cancel(node.0, key.as_ptr(), null()),
            -1
        );
        assert_eq!(
            pinecone_node_session_dial_cancel(node.0, key.as_ptr(), protocol.as_ptr()),
            0
        );
        assert_eq!(pinecone_node_sessions_json(null_mut(), null_mut(), 0), -1);
        assert_eq!(pinecone_node_session_count(null_mut()), -1);
        assert_eq!(pinecone_node_session_count(node.0), 0);
        assert_eq!(pinecone_node_sessions_close(node.0, null()), -1);
        assert_eq!(pinecone_node_sessions_close(null_mut(), key.as_ptr()), -1);
        assert_eq!(pinecone_node_sessions_close(node.0, key.as_ptr()), 0);
    }
    assert_eq!(sessions_json(&node), serde_json::json!([]));
}
