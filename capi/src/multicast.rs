//! LAN multicast discovery: starting and stopping it, and the interface
//! list a host supplies where the process cannot list interfaces itself
//! (as on Android).

use std::ffi::{c_char, c_int};

use pinecone_transports::{parse_address_list, MulticastConfig, NetInterface};

use crate::boundary::{read_str, run, Failure};
use crate::handle::{enter, PineconeNode};

/// `pinecone_interface.flags`: the interface is up.
pub const PINECONE_INTERFACE_UP: u32 = 1;
/// `pinecone_interface.flags`: the interface can multicast.
pub const PINECONE_INTERFACE_MULTICAST: u32 = 2;
/// `pinecone_interface.flags`: a loopback interface.
pub const PINECONE_INTERFACE_LOOPBACK: u32 = 4;
/// `pinecone_interface.flags`: a point-to-point link.
pub const PINECONE_INTERFACE_POINT_TO_POINT: u32 = 8;

/// A network interface as the host describes it to
/// `pinecone_node_multicast_set_interfaces`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PineconeInterface {
    /// Its name (NUL-terminated UTF-8): the zone of peerings found on it.
    pub name: *const c_char,
    /// Its index; 0 to have it looked up by name.
    pub index: u32,
    /// `PINECONE_INTERFACE_*` bits.
    pub flags: u32,
    /// Its addresses, space-separated (NUL-terminated; NULL for none):
    /// each an IPv4 or IPv6 address, optionally with a `/prefix` length
    /// and an IPv6 `%zone`, as "192.168.1.5/24 fe80::1%wlan0/64".
    pub addresses: *const c_char,
}

/// Starts LAN multicast discovery: beacons to 224.0.0.114 and ff02::114
/// port 60606 on every suitable interface (up, multicast, neither loopback
/// nor point-to-point) whose name `interfaces_regex` matches (a regular
/// expression searched in the name; NULL: every one), dials to the nodes
/// heard, and a TCP listener of its own on a free port. Peerings it makes
/// have `PINECONE_PEER_MULTICAST` and the interface's name as zone. Called
/// again, it restarts with the new pattern. Returns 0, or -1 on failure
/// (a pattern that does not compile, sockets that cannot be opened).
///
/// # Safety
///
/// `node` is NULL or a live handle; `interfaces_regex` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_multicast_start(
    node: *mut PineconeNode,
    interfaces_regex: *const c_char,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let config = if interfaces_regex.is_null() {
            MulticastConfig::default()
        } else {
            // SAFETY: not NULL; the caller promises a NUL-terminated string.
            let pattern = unsafe { read_str(interfaces_regex, "interfaces_regex") }?;
            MulticastConfig::matching(pattern)?
        };
        call.node().start_multicast(config)?;
        Ok(0)
    })
}

/// Stops multicast discovery: its listener closes and no more beacons or
/// dials go out. Peerings it made stay up (close them with
/// `pinecone_node_disconnect_peer_type(node, PINECONE_PEER_MULTICAST)`).
/// Returns 0 (also when it was not running), or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_multicast_stop(node: *mut PineconeNode) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        call.node().stop_multicast();
        Ok(0)
    })
}

/// Makes multicast discovery use the `count` interfaces at `interfaces`
/// instead of listing the system's, for hosts where the process cannot
/// list them: call it again whenever the network changes. NULL goes back
/// to the system's list (`count` is then ignored); a non-NULL pointer with
/// `count` 0 means no interface. May be called before or after
/// `pinecone_node_multicast_start`; a running discovery looks at the new
/// list at once. Returns 0, or -1 on failure (a NULL or non-UTF-8 name,
/// an address that cannot be read), in which case nothing changed.
///
/// # Safety
///
/// `node` is NULL or a live handle; `interfaces` is NULL or points to
/// `count` readable `pinecone_interface`s whose strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_multicast_set_interfaces(
    node: *mut PineconeNode,
    interfaces: *const PineconeInterface,
    count: usize,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        if interfaces.is_null() {
            call.node().set_multicast_interfaces(None);
            return Ok(0);
        }
        let described = if count == 0 {
            &[][..]
        } else {
            // SAFETY: not NULL, `count` is not zero, and the caller
            // promises `count` readable interfaces for the call.
            unsafe { std::slice::from_raw_parts(interfaces, count) }
        };
        let list = described
            .iter()
            // SAFETY: the caller promises NULL or NUL-terminated strings.
            .map(|interface| unsafe { read_interface(interface) })
            .collect::<Result<Vec<_>, _>>()?;
        call.node().set_multicast_interfaces(Some(list));
        Ok(0)
    })
}

/// The Rust form of a described interface.
///
/// # Safety
///
/// The strings of `interface` are NULL or NUL-terminated.
unsafe fn read_interface(interface: &PineconeInterface) -> Result<NetInterface, Failure> {
    // SAFETY: the caller promises NULL or a NUL-terminated string.
    let name = unsafe { read_str(interface.name, "an interface's name") }?;
    let addresses = if interface.addresses.is_null() {
        Vec::new()
    } else {
        // SAFETY: not NULL; the caller promises a NUL-terminated string.
        let text = unsafe { read_str(interface.addresses, "an interface's addresses") }?;
        parse_address_list(text).map_err(|e| Failure(format!("interface {name:?}: {e}")))?
    };
    let flag = |bit: u32| interface.flags & bit != 0;
    Ok(NetInterface {
        name: name.to_owned(),
        index: interface.index,
        up: flag(PINECONE_INTERFACE_UP),
        multicast: flag(PINECONE_INTERFACE_MULTICAST),
        loopback: flag(PINECONE_INTERFACE_LOOPBACK),
        point_to_point: flag(PINECONE_INTERFACE_POINT_TO_POINT),
        addresses,
    })
}
