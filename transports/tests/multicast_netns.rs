//! Multicast discovery between two hosts of a LAN: two network namespaces
//! joined by a veth pair. Nodes find each other, peer once (the lower key
//! dials), exchange datagrams; garbage on the groups is ignored. (Two
//! daemons carrying traffic between nodes behind them are tested with the
//! daemon, in `transports/daemon/tests/multicast_daemons.rs`.) Skipped,
//! saying why, where namespaces cannot be made (see `netns_support`).

mod netns_support;
mod node_support;

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use netns_support::{lan_or_skip, Families, Lan, HOSTS};
use nix::net::if_::if_nametoindex;
use node_support::{eventually, node_with, reaches, test_config};
use pinecone_engine::control::{Event, PeerType};
use pinecone_engine::wire::PublicKey;
use pinecone_transports::{Beacon, MulticastConfig, Node, GROUP_PORT, GROUP_V4, GROUP_V6};

/// How long nodes on one link get to find each other. Discovery needs one
/// beacon (sent at once, then every 2 s); this is generous for a loaded
/// machine. The time it took is printed.
const PEERING_PATIENCE: Duration = Duration::from_secs(30);

/// How long datagrams get to cross.
const DELIVERY_PATIENCE: Duration = Duration::from_secs(20);

/// Starts a node with multicast discovery in host `side`'s namespace, and
/// subscribes to its events first.
fn multicast_node(lan: &Lan, side: usize, seed: u8) -> (Node, Receiver<Event>) {
    lan.run_in(side, || {
        let node = node_with(seed, test_config());
        let events = node.subscribe().expect("subscribe");
        node.start_multicast(MulticastConfig::default())
            .expect("multicast starts");
        (node, events)
    })
}

/// The peerings of `node` as (key, medium, zone, port).
fn peerings(node: &Node) -> Vec<(PublicKey, PeerType, String, u64)> {
    node.peers()
        .expect("peers")
        .into_iter()
        .map(|peer| (peer.key, peer.peer_type, peer.zone, peer.port))
        .collect()
}

#[test]
fn two_nodes_find_each_other_peer_once_and_exchange_datagrams() {
    let test = "two_nodes_find_each_other_peer_once_and_exchange_datagrams";
    if let Some(lan) = lan_or_skip(test, Families::Both) {
        find_peer_once_and_exchange(&lan);
    }
}

#[test]
fn over_ipv6_link_local_alone() {
    if let Some(lan) = lan_or_skip("over_ipv6_link_local_alone", Families::Ipv6Only) {
        find_peer_once_and_exchange(&lan);
    }
}

/// The nodes of the two hosts find each other, peer once and exchange
/// datagrams; the peering stays the only one past the tie-break grace.
fn find_peer_once_and_exchange(lan: &Lan) {
    let started = Instant::now();
    let (a, a_events) = multicast_node(lan, 0, 0x11);
    let (b, b_events) = multicast_node(lan, 1, 0x22);
    assert!(
        eventually(PEERING_PATIENCE, || !peerings(&a).is_empty()
            && !peerings(&b).is_empty()),
        "the nodes did not peer"
    );
    eprintln!(
        "peered by multicast {} ms after the first node started",
        started.elapsed().as_millis()
    );
    for (node, other, side) in [(&a, &b, 0), (&b, &a, 1)] {
        let found = peerings(node);
        assert_eq!(found.len(), 1, "one peering: {found:?}");
        let (key, medium, zone, _) = &found[0];
        assert_eq!(*key, other.public_key());
        assert_eq!(*medium, PeerType::Multicast);
        assert_eq!(zone, HOSTS[side].0, "the zone is the interface's name");
    }
    for (events, side, other) in [(&a_events, 0, &b), (&b_events, 1, &a)] {
        let added = events.try_iter().find_map(|event| match event {
            Event::PeerAdded {
                key,
                peer_type,
                zone,
                ..
            } if key == other.public_key() => Some((peer_type, zone)),
            _ => None,
        });
        assert_eq!(
            added,
            Some((PeerType::Multicast, HOSTS[side].0.to_owned())),
            "a peer_added event with the medium and the zone"
        );
    }
    assert!(reaches(&a, &b, DELIVERY_PATIENCE), "a reaches b");
    assert!(reaches(&b, &a, DELIVERY_PATIENCE), "b reaches a");

    // Past the tie-break grace, with beacons heard all along, the higher
    // node has not dialled a second peering, and nothing was replaced.
    let before = (peerings(&a), peerings(&b));
    std::thread::sleep(MulticastConfig::default().tie_break_grace + Duration::from_secs(4));
    assert_eq!(
        (peerings(&a), peerings(&b)),
        before,
        "still the same one peering"
    );

    let (lower, higher) = if a.public_key() < b.public_key() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let lower_stats = lower.multicast_stats().expect("running");
    let higher_stats = higher.multicast_stats().expect("running");
    assert_eq!(
        (lower_stats.dialled, lower_stats.accepted),
        (1, 0),
        "{lower_stats:?}"
    );
    assert_eq!(
        (higher_stats.dialled, higher_stats.accepted),
        (0, 1),
        "{higher_stats:?}"
    );
    for stats in [&lower_stats, &higher_stats] {
        assert!(stats.beacons_sent >= 2 && stats.received >= 2, "{stats:?}");
        assert_eq!(stats.malformed, 0, "{stats:?}");
    }
    assert_eq!(
        higher_stats.interfaces,
        vec![HOSTS[usize::from(higher.public_key() == b.public_key())]
            .0
            .to_owned()]
    );

    assert!(a.stop_multicast(), "it was running");
    assert!(a.multicast_stats().is_none());
    assert_eq!(peerings(&a).len(), 1, "stopping keeps the peerings it made");
}

/// Sends `bytes` to both groups from host 1 out of its LAN interface.
fn send_to_groups(lan: &Lan, bytes: &[u8]) {
    lan.run_in(1, || {
        let (name, v4) = HOSTS[1];
        let index = if_nametoindex(name).expect("the LAN interface's index");
        let socket = UdpSocket::bind(SocketAddr::V4(SocketAddrV4::new(v4, 0))).expect("bind v4");
        socket
            .send_to(bytes, SocketAddrV4::new(GROUP_V4, GROUP_PORT))
            .expect("send v4");
        let socket =
            UdpSocket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)).expect("bind v6");
        socket
            .send_to(bytes, SocketAddrV6::new(GROUP_V6, GROUP_PORT, 0, index))
            .expect("send v6");
    });
}

#[test]
fn garbage_on_the_groups_is_ignored() {
    let Some(lan) = lan_or_skip("garbage_on_the_groups_is_ignored", Families::Both) else {
        return;
    };
    let (a, _events) = multicast_node(&lan, 0, 0x33);
    assert!(
        eventually(PEERING_PATIENCE, || a
            .multicast_stats()
            .is_some_and(|s| s.interfaces == vec![HOSTS[0].0.to_owned()])),
        "discovery runs on the LAN interface"
    );
    let own = Beacon {
        key: a.public_key(),
        port: 1,
    }
    .encode();
    let mut port_zero = own;
    port_zero[0] ^= 0xff;
    port_zero[32..].fill(0);
    let mut long = own.to_vec();
    long.push(0);
    let garbage: Vec<Vec<u8>> = vec![
        Vec::new(),
        own[..33].to_vec(),
        long,
        port_zero.to_vec(),
        vec![0x5a; 600],
    ];
    // One per 600 ms: above the per-source gap, so each is read.
    for bytes in &garbage {
        send_to_groups(&lan, bytes);
        std::thread::sleep(Duration::from_millis(600));
    }
    // A beacon with our own key, and one naming a key that is higher than
    // ours (so we dial at once) and a port where nothing listens.
    send_to_groups(&lan, &own);
    std::thread::sleep(Duration::from_millis(600));
    let nobody = Beacon {
        key: PublicKey([0xff; 32]),
        port: 9,
    }
    .encode();
    send_to_groups(&lan, &nobody);
    let expected = 2 * garbage.len() as u64;
    assert!(
        eventually(PEERING_PATIENCE, || a
            .multicast_stats()
            .is_some_and(|s| s.malformed >= expected && s.dial_failures >= 1)),
        "garbage counted and the dial to nobody failed: {:?}",
        a.multicast_stats()
    );
    // A burst from one address is read no faster than the per-source gap.
    for _ in 0..20 {
        send_to_groups(&lan, &[1, 2, 3]);
    }
    assert!(
        eventually(PEERING_PATIENCE, || a
            .multicast_stats()
            .is_some_and(|s| s.rate_limited >= 10)),
        "a burst is rate limited: {:?}",
        a.multicast_stats()
    );
    assert!(peerings(&a).is_empty(), "no peering from garbage");

    // Discovery still works: a real node comes along.
    let (b, _b_events) = multicast_node(&lan, 1, 0x44);
    assert!(
        eventually(PEERING_PATIENCE, || peerings(&a).len() == 1),
        "the nodes peer after the garbage"
    );
    assert!(reaches(&a, &b, DELIVERY_PATIENCE), "a reaches b");
    assert!(reaches(&b, &a, DELIVERY_PATIENCE), "b reaches a");
}
