//! Multicast discovery through the C ABI: starting with and without an
//! interface pattern, a host-supplied interface list, stopping, and the
//! failures. Two nodes on a LAN of two network namespaces (the transports
//! crate's test LAN; skipped, saying why, where namespaces cannot be made).

use std::ffi::CString;
use std::ptr::{null, null_mut};

use pinecone::*;
use support::*;

mod support;

#[path = "../../transports/tests/netns_support/mod.rs"]
mod netns_support;

use netns_support::{lan_or_skip, Families, HOSTS};

fn start(node: &Handle, pattern: Option<&str>) -> (i32, String) {
    let pattern = pattern.map(|p| CString::new(p).unwrap());
    let pointer = pattern.as_ref().map_or(null(), |p| p.as_ptr());
    // SAFETY: a live handle and NULL or a C string.
    let status = unsafe { pinecone_node_multicast_start(node.0, pointer) };
    (status, last_error())
}

/// An interface as the tests describe it: name, index, flags, addresses.
type Described<'a> = (&'a str, u32, u32, Option<&'a str>);

/// Describes interfaces to the node (`None`: back to the system's list).
fn set_interfaces(node: &Handle, list: Option<&[Described<'_>]>) -> (i32, String) {
    let Some(list) = list else {
        // SAFETY: a live handle; NULL goes back to the system's list.
        let status = unsafe { pinecone_node_multicast_set_interfaces(node.0, null(), 0) };
        return (status, last_error());
    };
    let strings: Vec<(CString, Option<CString>)> = list
        .iter()
        .map(|(name, _, _, addresses)| {
            (
                CString::new(*name).unwrap(),
                addresses.map(|a| CString::new(a).unwrap()),
            )
        })
        .collect();
    let described: Vec<PineconeInterface> = list
        .iter()
        .zip(&strings)
        .map(
            |((_, index, flags, _), (name, addresses))| PineconeInterface {
                name: name.as_ptr(),
                index: *index,
                flags: *flags,
                addresses: addresses.as_ref().map_or(null(), |a| a.as_ptr()),
            },
        )
        .collect();
    // SAFETY: a live handle and `described.len()` interfaces whose strings
    // live in `strings` for the call.
    let status = unsafe {
        pinecone_node_multicast_set_interfaces(node.0, described.as_ptr(), described.len())
    };
    (status, last_error())
}

#[test]
fn arguments_are_checked() {
    // SAFETY: NULL is refused.
    let answer = unsafe { pinecone_node_multicast_start(null_mut(), null()) };
    assert_eq!(answer, -1);
    assert!(last_error().contains("node is NULL"));
    // SAFETY: NULL is refused.
    assert_eq!(unsafe { pinecone_node_multicast_stop(null_mut()) }, -1);
    let node = Handle::new(None);
    let (status, message) = start(&node, Some("(unclosed"));
    assert_eq!(status, -1);
    assert!(message.contains("regex"), "{message}");
    let (status, message) = set_interfaces(
        &node,
        Some(&[(
            "wlan0",
            0,
            PINECONE_INTERFACE_UP,
            Some("10.0.0.1 not-an-address"),
        )]),
    );
    assert_eq!(status, -1);
    assert!(message.contains("not-an-address"), "{message}");
    // SAFETY: a live handle and one interface whose name is NULL.
    let status = unsafe {
        let nameless = PineconeInterface {
            name: null(),
            index: 0,
            flags: 0,
            addresses: null(),
        };
        pinecone_node_multicast_set_interfaces(node.0, &nameless, 1)
    };
    assert_eq!(status, -1);
    assert!(last_error().contains("name is NULL"));
    // Stopping what never started is fine, and so are an empty list and
    // going back to the system's.
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_multicast_stop(node.0) }, 0);
    assert_eq!(set_interfaces(&node, Some(&[])).0, 0);
    assert_eq!(set_interfaces(&node, None).0, 0);
}

#[test]
fn two_nodes_peer_by_multicast_one_with_a_host_supplied_list() {
    let Some(lan) = lan_or_skip(
        "two_nodes_peer_by_multicast_one_with_a_host_supplied_list",
        Families::Both,
    ) else {
        return;
    };
    // A lists the system's interfaces, restricted by a pattern.
    let a = lan.run_in(0, || {
        let node = Handle::new(Some([0x31; 32]));
        let (status, message) = start(&node, Some("^lan-"));
        assert_eq!(status, 0, "{message}");
        node
    });
    // B is told its interfaces, as an Android host would: the LAN one
    // (index looked up by name, IPv4 only) and one that does not exist.
    let b = lan.run_in(1, || {
        let node = Handle::new(Some([0x32; 32]));
        let flags = PINECONE_INTERFACE_UP | PINECONE_INTERFACE_MULTICAST;
        let address = format!("{}/24", HOSTS[1].1);
        let list = [
            (HOSTS[1].0, 0, flags, Some(address.as_str())),
            ("ghost0", 0, flags, Some("10.9.9.9/24")),
        ];
        assert_eq!(set_interfaces(&node, Some(&list)).0, 0, "{}", last_error());
        assert_eq!(start(&node, None).0, 0, "{}", last_error());
        node
    });
    wait_for("the nodes peer by multicast", || {
        a.peer_count() == 1 && b.peer_count() == 1
    });
    for (node, other, side) in [(&a, &b, 0), (&b, &a, 1)] {
        let peers = node.peers();
        assert_eq!(peers[0]["key"], hex(&other.key()));
        assert_eq!(peers[0]["peer_type"], PINECONE_PEER_MULTICAST);
        assert_eq!(peers[0]["zone"], HOSTS[side].0);
    }
    let (source, payload) = deliver(&a, &b, b"over multicast");
    assert_eq!(
        (source, payload.as_slice()),
        (a.key(), &b"over multicast"[..])
    );
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_multicast_stop(a.0) }, 0);
    assert_eq!(a.peer_count(), 1, "stopping keeps the peerings");
}
