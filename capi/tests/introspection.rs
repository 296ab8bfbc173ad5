//! The state dump, the peers and the coordinates through the C ABI, and
//! the convention they share for buffers too short.

use std::ffi::c_char;
use std::ptr::null_mut;

use pinecone::*;
use support::*;

mod support;

#[test]
fn null_arguments_fail() {
    let mut buf = [0 as c_char; 8];
    let mut coords = [0u64; 8];
    // SAFETY: NULL handles must be refused; the buffers are valid.
    unsafe {
        assert_eq!(
            pinecone_node_state_json(null_mut(), buf.as_mut_ptr(), 8),
            -1
        );
        assert!(last_error().contains("node is NULL"));
        assert_eq!(
            pinecone_node_peers_json(null_mut(), buf.as_mut_ptr(), 8),
            -1
        );
        assert_eq!(pinecone_node_coords(null_mut(), coords.as_mut_ptr(), 8), -1);
    }
    let node = Handle::new(None);
    // SAFETY: a live handle and a NULL buffer claimed to be large.
    unsafe {
        assert_eq!(pinecone_node_state_json(node.0, null_mut(), 4096), -1);
        assert!(last_error().contains("buf is NULL"), "{}", last_error());
    }
}

#[test]
fn the_state_dump_is_json_about_this_node() {
    let node = Handle::new(None);
    // SAFETY: a live handle; NULL with capacity 0 asks for the length.
    let needed = unsafe { pinecone_node_state_json(node.0, null_mut(), 0) };
    assert!(needed > 2, "{}", last_error());
    let needed = usize::try_from(needed).unwrap();

    // One byte short: nothing written, the same length answered.
    let mut short = vec![0x55 as c_char; needed - 1];
    // SAFETY: a live handle and a buffer of `short.len()` bytes.
    let answer = unsafe { pinecone_node_state_json(node.0, short.as_mut_ptr(), short.len()) };
    assert_eq!(usize::try_from(answer).unwrap(), needed);
    assert!(short.iter().all(|&byte| byte == 0x55));

    let text = node.text(pinecone_node_state_json);
    let dump: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(dump["public_key"], hex(&node.key()), "{text}");
}

#[test]
fn peers_and_coords_describe_the_tree() {
    let (a, b) = peered_pair();
    wait_for("a announcement each way", || {
        a.peers()
            .first()
            .is_some_and(|peer| !peer["coords"].is_null())
            && b.peers()
                .first()
                .is_some_and(|peer| !peer["coords"].is_null())
    });
    let a_peers = a.peers();
    let b_peers = b.peers();
    assert_eq!((a_peers.len(), b_peers.len()), (1, 1));
    let (a_peer, b_peer) = (&a_peers[0], &b_peers[0]);
    assert_eq!(a_peer["key"], hex(&b.key()));
    assert_eq!(b_peer["key"], hex(&a.key()));
    assert_eq!(b_peer["zone"], "static", "b dialled a");
    assert_eq!(a_peer["zone"], "", "a accepted b over TCP");
    assert_eq!(a_peer["peer_type"], i64::from(PINECONE_PEER_REMOTE));
    assert!(a_peer["port"].as_u64().unwrap() >= 1);
    assert!(a_peer["bytes"]["rx_proto"].as_u64().unwrap() > 0);

    // The node with the higher key is the root: no coordinates. The other
    // hangs below it: one.
    let (root, child) = if a.key() > b.key() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    wait_for("the child to take its place", || child.coords().len() == 1);
    assert_eq!(root.coords(), Vec::<u64>::new());
    let parent_flags: Vec<bool> = child
        .peers()
        .iter()
        .map(|peer| peer["is_parent"].as_bool().unwrap())
        .collect();
    assert_eq!(parent_flags, [true]);

    // Too short a buffer: the count, nothing written.
    let mut none = [7u64; 0];
    // SAFETY: a live handle and a zero-length buffer.
    let count = unsafe { pinecone_node_coords(child.0, none.as_mut_ptr(), 0) };
    assert_eq!(count, 1);
    // SAFETY: as above, with NULL.
    assert_eq!(unsafe { pinecone_node_coords(child.0, null_mut(), 0) }, 1);
}

#[test]
fn the_stats_are_json_that_counts_what_crossed() {
    let lone = Handle::new(None);
    let stats: serde_json::Value =
        serde_json::from_str(&lone.text(pinecone_node_stats_json)).expect("stats JSON");
    assert_eq!(stats["peerings"]["remote"], 0);
    assert_eq!(stats["tree"]["is_root"], true);

    let (a, b) = peered_pair();
    let payload = [0x42u8; 300];
    deliver(&a, &b, &payload);
    let stats: serde_json::Value =
        serde_json::from_str(&a.text(pinecone_node_stats_json)).expect("stats JSON");
    assert_eq!(stats["peerings"]["remote"], 1, "{stats}");
    assert!(stats["handshakes"]["completed"].as_u64().unwrap() >= 1);
    assert!(stats["peerings_accepted"].as_u64().unwrap() >= 1);
    assert!(
        stats["router"]["frames_received"]["tree_announcement"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // The datagram a sent went out on its peering, as its own traffic.
    let sent = stats["forwarding"]["local_frames_out"].as_u64().unwrap()
        + stats["router"]["frames_sent"]["traffic"].as_u64().unwrap();
    assert!(sent >= 1, "{stats}");
    assert_eq!(stats["forwarding"]["forwarded_frames"], 0, "a is an end");
    assert!(stats["forwarding"]["drops"]["output_full"].is_u64());
    assert_eq!(stats["sessions"]["established"], 0, "no session opened");

    let mut buf = [0 as c_char; 8];
    // SAFETY: a NULL handle must be refused; the buffer is valid.
    let answer = unsafe { pinecone_node_stats_json(null_mut(), buf.as_mut_ptr(), 8) };
    assert_eq!(answer, -1);
}
