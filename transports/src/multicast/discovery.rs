//! The discovery thread: looks at the interfaces, joins the groups, sends
//! beacons, reads the beacons of others and starts the dials they call for.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use pinecone_engine::control::PeerSummary;
use pinecone_engine::wire::PublicKey;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use tracing::{debug, info, warn};

use super::beacon::Beacon;
use super::budget::{Budget, Overspent};
use super::config::MulticastConfig;
use super::connect::connect_from;
use super::interfaces::{scan_system, select, with_index, ActiveInterface, NetInterface};
use super::listener::listen;
use super::policy::{DialPolicy, DialTicket, Verdict};
use super::sockets::{Family, GroupSocket, Received};
use super::stats::{bump, Counters, MulticastStats};
use crate::listener::Listener;
use crate::peering::{PeerOrigin, PeerStream, PeerType};
use crate::transport::{PeeringSink, Transport};

/// Lists the node's peerings; `None` when the node cannot answer (it is
/// shutting down).
pub(crate) type PeerLister = Arc<dyn Fn() -> Option<Vec<PeerSummary>> + Send + Sync>;

/// The interface list a host program supplies, shared with the node
/// handle; `None`: list the system's.
pub(crate) type HostInterfaces = Arc<Mutex<Option<Vec<NetInterface>>>>;

/// Datagrams read from one socket before the others get their turn.
const READS_PER_TURN: usize = 64;

/// Stack of a dial thread: a connect and a handshake need little.
const DIAL_STACK: usize = 256 * 1024;

/// What discovery needs from its node.
pub(crate) struct Hooks {
    /// Runs handshakes as the node.
    pub(crate) transport: Transport,
    /// Takes established peerings.
    pub(crate) sink: PeeringSink,
    /// Lists the node's peerings.
    pub(crate) peers: PeerLister,
    /// The host's interface list, if it supplies one.
    pub(crate) host_interfaces: HostInterfaces,
}

/// What discovery's threads share.
pub(super) struct Shared {
    pub(super) config: MulticastConfig,
    pub(super) hooks: Hooks,
    pub(super) stopping: AtomicBool,
    pub(super) counters: Counters,
    /// The interfaces as last listed (for the zones of accepted peerings)
    /// and the names of those in use.
    pub(super) listed: Mutex<(Vec<NetInterface>, Vec<String>)>,
    policy: Mutex<DialPolicy>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(super) fn listed(&self) -> MutexGuard<'_, (Vec<NetInterface>, Vec<String>)> {
        lock(&self.listed)
    }

    pub(super) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// Multicast discovery running for a node. Dropping it stops it: the
/// listener closes, the groups are left and no more dials start (dials in
/// progress end within their timeouts and deliver nothing); peerings
/// already made stay up.
pub(crate) struct Discovery {
    shared: Arc<Shared>,
    listen_port: u16,
    wake: Option<UnixStream>,
    listener: Option<Listener>,
    thread: Option<JoinHandle<()>>,
}

impl Discovery {
    /// Opens the listener and the group sockets and starts the thread.
    pub(crate) fn start(config: MulticastConfig, hooks: Hooks) -> io::Result<Discovery> {
        let own_key = hooks.transport.public_key();
        let policy = DialPolicy::new(own_key, config.tie_break_grace, config.max_concurrent_dials);
        let budget = Budget::new(config.max_beacons_per_second, config.min_gap_per_source);
        let mut sockets = Vec::new();
        for family in [Family::V4, Family::V6] {
            match GroupSocket::open(family, config.group_port) {
                Ok(socket) => sockets.push(socket),
                Err(error) => warn!(?family, %error, "multicast discovery cannot use this family"),
            }
        }
        if sockets.is_empty() {
            return Err(io::Error::other(
                "multicast discovery cannot open a group socket of either family",
            ));
        }
        let shared = Arc::new(Shared {
            config,
            hooks,
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
            listed: Mutex::new((Vec::new(), Vec::new())),
            policy: Mutex::new(policy),
        });
        let listener = listen(&shared)?;
        let listen_port = listener.local_addr().port();
        let (wake, woken) = UnixStream::pair()?;
        woken.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        let worker = Worker {
            shared: Arc::clone(&shared),
            sockets,
            woken,
            active: BTreeMap::new(),
            joined: BTreeSet::new(),
            budget,
            beacon: Beacon {
                key: own_key,
                port: listen_port,
            }
            .encode(),
        };
        let thread = thread::Builder::new()
            .name("pinecone-multicast".to_owned())
            .spawn(move || worker.run())?;
        info!(port = listen_port, "multicast discovery started");
        Ok(Discovery {
            shared,
            listen_port,
            wake: Some(wake),
            listener: Some(listener),
            thread: Some(thread),
        })
    }

    /// Looks at the interfaces again at once (the host's list changed).
    pub(crate) fn rescan_soon(&self) {
        if let Some(mut wake) = self.wake.as_ref() {
            let _ = wake.write(&[1]);
        }
    }

    /// The counters and the interfaces in use.
    pub(crate) fn stats(&self) -> MulticastStats {
        let names = self.shared.listed().1.clone();
        self.shared.counters.snapshot(names, self.listen_port)
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        drop(self.listener.take());
        // Closing our end wakes the thread with a hang-up.
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!("the multicast discovery thread panicked");
            }
        }
        info!("multicast discovery stopped");
    }
}

/// The discovery thread's state.
struct Worker {
    shared: Arc<Shared>,
    sockets: Vec<GroupSocket>,
    woken: UnixStream,
    /// The interfaces in use, by index.
    active: BTreeMap<u32, ActiveInterface>,
    /// The (family, interface) groups joined.
    joined: BTreeSet<(Family, u32)>,
    budget: Budget,
    beacon: [u8; super::beacon::BEACON_LEN],
}

impl Worker {
    fn run(mut self) {
        let config = self.shared.config.clone();
        let mut next_scan = Instant::now();
        let mut next_beacon = Instant::now() + config.beacon_interval;
        loop {
            let now = Instant::now();
            if now >= next_scan {
                self.rescan();
                next_scan = now + config.rescan_interval;
            }
            if now >= next_beacon {
                self.send_beacons();
                next_beacon = now + config.beacon_interval;
            }
            let wait = next_scan
                .min(next_beacon)
                .saturating_duration_since(Instant::now());
            let wait = Timespec::try_from(wait).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            });
            let (ready, woken) = {
                let mut fds: Vec<PollFd<'_>> = self
                    .sockets
                    .iter()
                    .map(|socket| PollFd::new(socket, PollFlags::IN))
                    .collect();
                fds.push(PollFd::new(&self.woken, PollFlags::IN));
                match poll(&mut fds, Some(&wait)) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(error) => {
                        warn!(%error, "multicast discovery cannot poll; stopping");
                        return;
                    }
                }
                let woken = fds.pop().is_some_and(|fd| !fd.revents().is_empty());
                let ready: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
                (ready, woken)
            };
            if self.shared.stopping() {
                return;
            }
            if woken {
                let mut drain = [0u8; 64];
                match (&self.woken).read(&mut drain) {
                    Ok(0) => return,
                    Ok(_) => next_scan = Instant::now(),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
            let mut peered = None;
            for (index, ready) in ready.into_iter().enumerate() {
                if ready {
                    self.read_socket(index, &mut peered);
                }
            }
        }
    }

    /// Lists the interfaces and joins and leaves groups to match; a group
    /// newly joined gets a beacon at once.
    fn rescan(&mut self) {
        let host = lock(&self.shared.hooks.host_interfaces).clone();
        let listed = match host {
            Some(list) => list.into_iter().map(with_index).collect(),
            None => match scan_system() {
                Ok(list) => list,
                Err(error) => {
                    warn!(%error, "cannot list the network interfaces");
                    return;
                }
            },
        };
        let selected = select(&listed, self.shared.config.interfaces.as_ref());
        let wanted: BTreeSet<(Family, u32)> = selected
            .values()
            .flat_map(|interface| {
                let v4 = interface.ipv4.map(|_| (Family::V4, interface.index));
                let v6 = interface.ipv6.map(|_| (Family::V6, interface.index));
                v4.into_iter().chain(v6)
            })
            .filter(|(family, _)| self.socket(*family).is_some())
            .collect();
        for &(family, index) in self.joined.difference(&wanted) {
            if let Some(socket) = self.socket(family) {
                let _ = socket.leave(index);
            }
            let name = self.active.get(&index).map(|i| i.name.clone());
            info!(interface = ?name, ?family, "multicast discovery no longer on this interface");
        }
        let mut fresh = Vec::new();
        for &(family, index) in wanted.difference(&self.joined) {
            let Some(socket) = self.socket(family) else {
                continue;
            };
            let Some(interface) = selected.get(&index) else {
                continue;
            };
            match socket.join(index) {
                Ok(()) => {
                    info!(interface = %interface.name, ?family, ipv4 = ?interface.ipv4,
                        ipv6 = ?interface.ipv6, "multicast discovery on this interface");
                    fresh.push((family, index));
                }
                Err(error) => {
                    warn!(interface = %interface.name, ?family, %error, "cannot join the multicast group")
                }
            }
        }
        self.joined = wanted
            .into_iter()
            .filter(|group| self.joined.contains(group) || fresh.contains(group))
            .collect();
        self.active = selected;
        let names = self.active.values().map(|i| i.name.clone()).collect();
        *self.shared.listed() = (listed, names);
        for (family, index) in fresh {
            self.send_beacon(family, index);
        }
    }

    fn socket(&self, family: Family) -> Option<&GroupSocket> {
        self.sockets.iter().find(|socket| socket.family() == family)
    }

    fn send_beacons(&self) {
        for &(family, index) in &self.joined {
            self.send_beacon(family, index);
        }
    }

    fn send_beacon(&self, family: Family, index: u32) {
        let (Some(socket), Some(interface)) = (self.socket(family), self.active.get(&index)) else {
            return;
        };
        let source = interface.ipv4.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        match socket.send(&self.beacon, index, source) {
            Ok(()) => bump(&self.shared.counters.beacons_sent),
            Err(error) => {
                bump(&self.shared.counters.send_errors);
                debug!(interface = %interface.name, ?family, %error, "cannot send a beacon");
            }
        }
    }

    /// Reads up to [`READS_PER_TURN`] datagrams from socket `index`.
    fn read_socket(&mut self, index: usize, peered: &mut Option<HashSet<(PublicKey, String)>>) {
        for _ in 0..READS_PER_TURN {
            let Some(socket) = self.sockets.get(index) else {
                return;
            };
            let family = socket.family();
            match socket.receive() {
                Ok(Some(received)) => self.handle(family, received, peered),
                Ok(None) => return,
                Err(error) => {
                    debug!(?family, %error, "cannot read from the multicast group");
                    return;
                }
            }
        }
    }

    /// Acts on one datagram.
    fn handle(
        &mut self,
        family: Family,
        received: Received,
        peered: &mut Option<HashSet<(PublicKey, String)>>,
    ) {
        let counters = &self.shared.counters;
        let Some(interface) = self.active.get(&received.interface) else {
            return;
        };
        let in_use = match family {
            Family::V4 => interface.ipv4.is_some(),
            Family::V6 => interface.ipv6.is_some(),
        };
        if !in_use {
            return;
        }
        let now = Instant::now();
        match self.budget.take(received.source.ip(), now) {
            Ok(()) => {}
            Err(Overspent::Total | Overspent::Source) => {
                bump(&counters.rate_limited);
                return;
            }
        }
        bump(&counters.received);
        let beacon = match Beacon::decode(&received.bytes) {
            Ok(beacon) if !received.truncated => beacon,
            Ok(_) | Err(_) => {
                bump(&counters.malformed);
                debug!(source = %received.source, length = received.bytes.len(),
                    interface = %interface.name, "ignoring a datagram that is not a beacon");
                return;
            }
        };
        let Some((local, remote)) = dial_addresses(interface, received.source, beacon.port) else {
            bump(&counters.malformed);
            debug!(source = %received.source, "ignoring a beacon from an address that cannot be dialled");
            return;
        };
        if beacon.key == self.shared.hooks.transport.public_key() {
            return;
        }
        if peered.is_none() {
            let Some(peers) = (self.shared.hooks.peers)() else {
                return;
            };
            *peered = Some(
                peers
                    .into_iter()
                    .map(|peer| (peer.key, peer.zone))
                    .collect(),
            );
        }
        let is_peered = peered
            .as_ref()
            .is_some_and(|set| set.contains(&(beacon.key, interface.name.clone())));
        let verdict =
            lock(&self.shared.policy).consider(beacon.key, interface.index, remote, is_peered, now);
        tracing::trace!(key = %beacon.key, source = %received.source, interface = %interface.name,
            peered = is_peered, ?verdict, "beacon");
        if verdict != Verdict::Dial {
            return;
        }
        let ticket = DialTicket {
            key: beacon.key,
            interface: interface.index,
            address: remote,
        };
        let zone = interface.name.clone();
        let shared = Arc::clone(&self.shared);
        bump(&counters.dials);
        let spawned = thread::Builder::new()
            .name("pinecone-multicast-dial".to_owned())
            .stack_size(DIAL_STACK)
            .spawn(move || {
                let delivered = dial(&shared, &ticket, local, zone);
                lock(&shared.policy).finished(&ticket, delivered, Instant::now());
            });
        if let Err(error) = spawned {
            warn!(%error, "cannot start a thread to dial a multicast peer");
            bump(&counters.dial_failures);
            lock(&self.shared.policy).finished(&ticket, false, Instant::now());
        }
    }
}

/// Where to dial the sender of a beacon from and to: IPv4 from the
/// interface's address, IPv6 link-local from the interface's link-local
/// address, with the interface as the scope. `None` for a source that
/// cannot be dialled (not unicast, or IPv6 but not link-local).
fn dial_addresses(
    interface: &ActiveInterface,
    source: SocketAddr,
    port: u16,
) -> Option<(SocketAddr, SocketAddr)> {
    match source.ip() {
        IpAddr::V4(ip) => {
            let unicast = !ip.is_unspecified() && !ip.is_multicast() && !ip.is_broadcast();
            let local = interface.ipv4?;
            unicast.then(|| {
                (
                    SocketAddr::V4(SocketAddrV4::new(local, 0)),
                    SocketAddr::V4(SocketAddrV4::new(ip, port)),
                )
            })
        }
        IpAddr::V6(ip) => {
            let local = interface.ipv6?;
            ip.is_unicast_link_local().then(|| {
                (
                    SocketAddr::V6(SocketAddrV6::new(local, 0, 0, interface.index)),
                    SocketAddr::V6(SocketAddrV6::new(ip, port, 0, interface.index)),
                )
            })
        }
    }
}

/// Dials the node a beacon named and hands the peering to the node, unless
/// discovery stopped meanwhile or the handshake names another key; answers
/// whether it handed one over.
fn dial(shared: &Shared, ticket: &DialTicket, local: SocketAddr, zone: String) -> bool {
    let counters = &shared.counters;
    let transport = &shared.hooks.transport;
    let timeout = transport.config().connect_timeout;
    let stream = match connect_from(local, ticket.address, timeout) {
        Ok(stream) => stream,
        Err(error) => {
            bump(&counters.dial_failures);
            debug!(address = %ticket.address, %zone, %error, "cannot connect to a multicast peer");
            return false;
        }
    };
    let origin = PeerOrigin {
        peer_type: PeerType::Multicast,
        zone,
        uri: ticket.address.to_string(),
        outbound: true,
    };
    let peering = match transport.establish(PeerStream::Tcp(stream), origin) {
        Ok(peering) => peering,
        Err(_) => {
            bump(&counters.dial_failures);
            return false;
        }
    };
    if peering.public_key != ticket.key {
        bump(&counters.dial_failures);
        info!(address = %ticket.address, beacon = %ticket.key, handshake = %peering.public_key,
            "closing a multicast peering whose key is not the beacon's");
        return false;
    }
    if shared.stopping() {
        return false;
    }
    bump(&counters.dialled);
    (shared.hooks.sink)(peering);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interface() -> ActiveInterface {
        ActiveInterface {
            name: "eth0".to_owned(),
            index: 4,
            ipv4: Some("10.0.0.1".parse().unwrap()),
            ipv6: Some("fe80::1".parse().unwrap()),
        }
    }

    #[test]
    fn dials_from_the_interface_with_its_scope() {
        let v4: SocketAddr = "10.0.0.2:60606".parse().unwrap();
        let (local, remote) = dial_addresses(&interface(), v4, 7000).expect("dialable");
        assert_eq!(local, "10.0.0.1:0".parse().unwrap());
        assert_eq!(remote, "10.0.0.2:7000".parse().unwrap());
        let v6 = SocketAddr::V6(SocketAddrV6::new("fe80::2".parse().unwrap(), 60606, 0, 4));
        let (local, remote) = dial_addresses(&interface(), v6, 7000).expect("dialable");
        assert_eq!(
            local,
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 0, 0, 4))
        );
        assert_eq!(
            remote,
            SocketAddr::V6(SocketAddrV6::new("fe80::2".parse().unwrap(), 7000, 0, 4))
        );
    }

    #[test]
    fn refuses_sources_that_cannot_be_dialled() {
        for source in [
            "0.0.0.0:1",
            "224.0.0.114:1",
            "255.255.255.255:1",
            "[2001:db8::1]:1",
            "[ff02::1]:1",
        ] {
            let source: SocketAddr = source.parse().unwrap();
            assert_eq!(dial_addresses(&interface(), source, 7000), None, "{source}");
        }
        let v6_only = ActiveInterface {
            ipv4: None,
            ..interface()
        };
        assert_eq!(
            dial_addresses(&v6_only, "10.0.0.2:1".parse().unwrap(), 7000),
            None
        );
    }
}
