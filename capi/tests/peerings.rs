//! Bringing peerings in and out through the C ABI: attaching connected
//! sockets by descriptor, WebSocket listeners, disconnecting by port, zone
//! and medium.

use std::ffi::{c_char, c_int, CStr, CString};
use std::fs::File;
use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::ptr::{null, null_mut};
use std::thread;

use pinecone::*;
use support::*;

mod support;

/// Whether `fd` is an open descriptor.
fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor table.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    rustix::io::fcntl_getfd(borrowed).is_ok()
}

/// What descriptor `fd` refers to now ("socket:[inode]"), if it is open.
fn target_of(fd: RawFd) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

/// Attaches `fd` to `node`; the status and the failure's message.
fn attach(node: &Handle, fd: RawFd, peer_type: c_int, zone: Option<&str>) -> (c_int, String) {
    let zone = zone.map(|zone| CString::new(zone).unwrap());
    let zone_ptr = zone.as_ref().map_or(null(), |zone| zone.as_ptr());
    // SAFETY: a live handle, a descriptor and NULL or a C string.
    let status = unsafe { pinecone_node_attach_fd(node.0, fd, peer_type, zone_ptr) };
    (status, last_error())
}

#[test]
fn attach_refuses_what_is_not_a_connected_stream_socket() {
    let node = Handle::new(None);
    // SAFETY: a NULL node is refused before anything is dereferenced.
    let status = unsafe { pinecone_node_attach_fd(null_mut(), 0, PINECONE_PEER_REMOTE, null()) };
    assert_eq!(status, -1);
    assert!(last_error().contains("node is NULL"));

    let (status, message) = attach(&node, -1, PINECONE_PEER_REMOTE, None);
    assert_eq!(status, -1);
    assert!(message.contains("not a file descriptor"), "{message}");

    let file = File::open("/dev/null").unwrap();
    let (status, message) = attach(&node, file.as_raw_fd(), PINECONE_PEER_REMOTE, None);
    assert_eq!(status, -1);
    assert!(message.contains("not a socket"), "{message}");
    assert!(is_open(file.as_raw_fd()), "the caller keeps it");

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (status, message) = attach(&node, udp.as_raw_fd(), PINECONE_PEER_REMOTE, None);
    assert_eq!(status, -1);
    assert!(message.contains("not a stream socket"), "{message}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let (status, message) = attach(&node, listener.as_raw_fd(), PINECONE_PEER_REMOTE, None);
    assert_eq!(status, -1);
    assert!(message.contains("not connected"), "{message}");

    let (ours, _theirs) = UnixStream::pair().unwrap();
    let (status, message) = attach(&node, ours.as_raw_fd(), 9, None);
    assert_eq!(status, -1);
    assert!(message.contains("9 is not a peer type"), "{message}");
    assert_eq!(node.peer_count(), 0);
}

#[test]
fn a_failed_handshake_leaves_the_descriptor_to_the_caller() {
    let node = Handle::new(None);
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    // The other side answers with garbage, then hangs up.
    let garbage = thread::spawn(move || {
        theirs.write_all(&[0xee; 104]).unwrap();
    });
    let (status, message) = attach(&node, ours.as_raw_fd(), PINECONE_PEER_PIPE, None);
    garbage.join().unwrap();
    assert_eq!(status, -1);
    assert!(message.contains("handshake"), "{message}");
    assert!(is_open(ours.as_raw_fd()));
    assert_eq!(node.peer_count(), 0);
}

#[test]
fn attached_tcp_and_unix_sockets_carry_datagrams() {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dialled = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let (a_end, b_end) = UnixStream::pair().unwrap();

    // Each handshake needs the other side's: attach b's ends on threads.
    let b_fds = (dialled.into_raw_fd(), b_end.into_raw_fd());
    let b_ptr = b.0 as usize;
    let b_side = thread::spawn(move || {
        let node = b_ptr as *mut PineconeNode;
        let zone = c"lan";
        // SAFETY: `b` outlives this thread (joined below); the descriptors
        // are ours to hand over.
        unsafe {
            (
                pinecone_node_attach_fd(node, b_fds.0, PINECONE_PEER_REMOTE, zone.as_ptr()),
                pinecone_node_attach_fd(node, b_fds.1, PINECONE_PEER_PIPE, null()),
            )
        }
    });
    let a_fds = (accepted.into_raw_fd(), a_end.into_raw_fd());
    let fds = [a_fds.0, a_fds.1, b_fds.0, b_fds.1];
    let sockets = fds.map(target_of);
    let (status, message) = attach(&a, a_fds.0, PINECONE_PEER_REMOTE, Some("lan"));
    assert_eq!(status, 0, "{message}");
    let (status, message) = attach(&a, a_fds.1, PINECONE_PEER_PIPE, None);
    assert_eq!(status, 0, "{message}");
    assert_eq!(b_side.join().unwrap(), (0, 0));
    for (fd, socket) in fds.into_iter().zip(sockets) {
        // The number may be reused since, but not for the same socket.
        assert!(socket.is_some());
        assert_ne!(target_of(fd), socket, "the node took descriptor {fd} over");
    }

    wait_for("two peerings each", || {
        a.peer_count() == 2 && b.peer_count() == 2
    });
    let mut media: Vec<(u64, String, String)> = a
        .peers()
        .iter()
        .map(|peer| {
            (
                peer["peer_type"].as_u64().unwrap(),
                peer["zone"].as_str().unwrap().to_owned(),
                peer["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    media.sort();
    let b_key = hex(&b.key());
    assert_eq!(
        media,
        [
            (0, String::new(), b_key.clone()),
            (3, "lan".to_owned(), b_key)
        ]
    );
    let (source, payload) = deliver(&a, &b, b"over attached sockets");
    assert_eq!(
        (source, payload.as_slice()),
        (a.key(), &b"over attached sockets"[..])
    );
}

/// Listens for WebSockets; the address bound.
fn listen_ws(node: &Handle) -> String {
    let mut bound = [0 as c_char; 64];
    // SAFETY: a live handle, a C string and a 64-byte buffer.
    let status =
        unsafe { pinecone_node_listen_ws(node.0, c"127.0.0.1:0".as_ptr(), bound.as_mut_ptr(), 64) };
    assert_eq!(status, 0, "{}", last_error());
    // SAFETY: the library wrote a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(bound.as_ptr()) };
    text.to_str().unwrap().to_owned()
}

#[test]
fn websocket_listeners_take_peers() {
    let mut bound = [0 as c_char; 4];
    // SAFETY: NULL handles and NULL addresses are refused; short buffers too.
    unsafe {
        assert_eq!(
            pinecone_node_listen_ws(null_mut(), c"127.0.0.1:0".as_ptr(), null_mut(), 0),
            -1
        );
        let node = Handle::new(None);
        assert_eq!(pinecone_node_listen_ws(node.0, null(), null_mut(), 0), -1);
        assert!(last_error().contains("addr is NULL"));
        assert_eq!(
            pinecone_node_listen_ws(node.0, c"127.0.0.1:0".as_ptr(), bound.as_mut_ptr(), 4),
            -1
        );
        assert!(last_error().contains("bound holds 4 bytes"));
        assert_eq!(
            pinecone_node_listen_ws(node.0, c"not an address".as_ptr(), null_mut(), 0),
            -1
        );
    }

    let a = Handle::new(None);
    let b = Handle::new(None);
    let address = listen_ws(&a);
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_eq!(b.connect(&format!("ws://{address}")), 0, "{}", last_error());
    wait_for("a WebSocket peering", || a.peer_count() == 1);
    assert_eq!(a.peers()[0]["zone"], "websocket");
    let (source, _) = deliver(&b, &a, b"over a websocket");
    assert_eq!(source, b.key());
}

/// Disconnects by zone; the count.
fn disconnect_zone(node: &Handle, zone: &str) -> i64 {
    let zone = CString::new(zone).unwrap();
    // SAFETY: a live handle and a C string.
    unsafe { pinecone_node_disconnect_zone(node.0, zone.as_ptr()) }
}

#[test]
fn disconnecting_by_port_zone_and_medium_counts_what_closed() {
    // SAFETY: NULL handles are refused.
    unsafe {
        assert_eq!(pinecone_node_disconnect_port(null_mut(), 1), -1);
        assert_eq!(pinecone_node_disconnect_zone(null_mut(), c"x".as_ptr()), -1);
        assert_eq!(pinecone_node_disconnect_peer_type(null_mut(), 0), -1);
    }
    let (a, b) = peered_pair();
    // SAFETY: a live handle; NULL zones and bad media are refused.
    unsafe {
        assert_eq!(pinecone_node_disconnect_zone(a.0, null()), -1);
        assert!(last_error().contains("zone is NULL"));
        assert_eq!(pinecone_node_disconnect_peer_type(a.0, 77), -1);
        assert!(last_error().contains("77 is not a peer type"));
        assert_eq!(pinecone_node_disconnect_port(a.0, 999), 0);
        assert_eq!(
            pinecone_node_disconnect_peer_type(a.0, PINECONE_PEER_BLUETOOTH),
            0
        );
    }
    assert_eq!(disconnect_zone(&a, "nowhere"), 0);

    // a accepted b over TCP (zone ""): by zone.
    assert_eq!(disconnect_zone(&a, ""), 1);
    assert_eq!(a.peer_count(), 0);
    // b redials its static peer.
    wait_for("b to redial", || a.peer_count() == 1 && b.peer_count() == 1);

    // By medium: both ends are remote peers.
    // SAFETY: a live handle.
    let closed = unsafe { pinecone_node_disconnect_peer_type(b.0, PINECONE_PEER_REMOTE) };
    assert_eq!(closed, 1);
    wait_for("b to redial again", || {
        a.peer_count() == 1 && b.peer_count() == 1
    });

    // By port, as the peers list numbers them.
    let port = a.peers()[0]["port"].as_u64().unwrap();
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_disconnect_port(a.0, port) }, 1);
    assert_eq!(a.peers().len(), 0);
}

fn remove_static_peer(node: &Handle, uri: &str) -> i64 {
    let uri = CString::new(uri).unwrap();
    // SAFETY: a live handle and a C string.
    unsafe { pinecone_node_remove_static_peer(node.0, uri.as_ptr()) }
}

fn count_by_type(node: &Handle, peer_type: c_int) -> i64 {
    // SAFETY: a live handle.
    unsafe { pinecone_node_peer_count_by_type(node.0, peer_type) }
}

#[test]
fn static_peers_are_removed_and_peers_counted_by_medium() {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let c = Handle::new(None);
    let a_address = a.listen();
    let c_address = c.listen();
    assert_eq!(b.connect(&format!("tcp://{a_address}")), 0);
    assert_eq!(b.connect(&c_address.to_string()), 0);
    wait_for("b to peer twice", || b.peer_count() == 2);
    assert_eq!(count_by_type(&b, PINECONE_PEER_REMOTE), 2);
    assert_eq!(count_by_type(&b, PINECONE_PEER_PIPE), 0);
    assert_eq!(count_by_type(&b, PINECONE_PEER_ANY), 2);
    assert_eq!(count_by_type(&b, 7), -1);
    assert!(last_error().contains("peer type"), "{}", last_error());

    assert_eq!(remove_static_peer(&b, &a_address.to_string()), 1);
    assert_eq!(remove_static_peer(&b, &a_address.to_string()), 0);
    assert_eq!(remove_static_peer(&b, "no such scheme://x"), -1);
    // SAFETY: a live handle; NULL is refused.
    assert_eq!(unsafe { pinecone_node_remove_static_peer(b.0, null()) }, -1);
    wait_for("a to lose its peer", || a.peer_count() == 0);
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_remove_static_peers(b.0) }, 1);
    wait_for("every static peering to close", || {
        b.peer_count() == 0 && c.peer_count() == 0
    });
    // A redial would come within the first backoff delay.
    thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!((a.peer_count(), b.peer_count()), (0, 0));
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_remove_static_peers(b.0) }, 0);
}

#[test]
fn the_reference_switches_answer_and_traffic_still_flows() {
    let (a, b) = peered_pair();
    for node in [&a, &b] {
        // SAFETY: live handles.
        unsafe {
            assert_eq!(pinecone_node_set_hop_limiting(node.0, 1), 0);
            assert_eq!(pinecone_node_set_wakeup_broadcasts(node.0, 0), 0);
            assert_eq!(pinecone_node_set_wakeup_broadcasts(node.0, 1), 0);
        }
    }
    assert_eq!(deliver(&a, &b, b"one hop").1, b"one hop");
    // SAFETY: NULL is refused.
    unsafe {
        assert_eq!(pinecone_node_set_hop_limiting(null_mut(), 1), -1);
        assert_eq!(pinecone_node_set_wakeup_broadcasts(null_mut(), 1), -1);
    }
}

#[test]
fn an_attached_socket_carries_the_uri_given() {
    let a = Handle::new(None);
    let b = Handle::new(None);
    let (left, right) = UnixStream::pair().unwrap();
    let b_node = b.0 as usize;
    let other = thread::spawn(move || {
        // SAFETY: a live handle (joined before `b` drops) and a socket we
        // own.
        unsafe {
            pinecone_node_attach_fd(
                b_node as *mut PineconeNode,
                right.into_raw_fd(),
                PINECONE_PEER_REMOTE,
                null(),
            )
        }
    });
    // SAFETY: a live handle, a socket we own and C strings.
    let status = unsafe {
        pinecone_node_attach_fd_uri(
            a.0,
            left.into_raw_fd(),
            PINECONE_PEER_REMOTE,
            c"websocket".as_ptr(),
            c"ws://dendrite.example:8008/pinecone".as_ptr(),
        )
    };
    assert_eq!(status, 0, "{}", last_error());
    assert_eq!(other.join().unwrap(), 0);
    let peers = a.peers();
    assert_eq!(peers[0]["uri"], "ws://dendrite.example:8008/pinecone");
    assert_eq!(peers[0]["zone"], "websocket");
    assert_eq!(b.peers()[0]["uri"], "unix");
}
