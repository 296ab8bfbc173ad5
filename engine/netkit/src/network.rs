//! The virtual network: one router per node, links with a fixed latency,
//! and a discrete-event loop in virtual milliseconds.
//!
//! Every frame a router transmits arrives at the other end of its link
//! exactly `latency` milliseconds later, after every frame sent earlier on
//! that link, as over a reliable ordered stream. A frame still in flight
//! when its link is cut is lost with the connection.
//!
//! Time advances in steps. A step at time `t` hands every node the frames
//! arriving at `t` (in link order), then fires its timer if it is due.
//! Because the latency is at least one millisecond, nothing a node does at
//! `t` can reach another node before `t + 1`, so the nodes of one step are
//! independent: they run in parallel, and their output is applied in node
//! order so that a run depends only on its inputs, not on thread timing.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use ed25519_dalek::SigningKey;
use pinecone_engine::control::{
    Counters, Delivery, Event, Millis, PeerInfo, PeerType, Port, Router, RouterConfig, Transmit,
};
use pinecone_engine::wire::{FrameType, PublicKey, HEADER_LEN};
use rayon::prelude::*;

/// A node's index in its network.
pub type NodeId = u32;

/// Virtual time zero on the routers' clock (Unix milliseconds).
pub const EPOCH_MS: u64 = 1_700_000_000_000;

/// Peerings closed by a router itself that [`NetworkStats::first_closures`]
/// keeps.
const CLOSURES_KEPT: usize = 20;

/// A router that asks for its timer again right after firing it is woken
/// at most this many times in one step before being deferred a millisecond.
const TIMER_FIRINGS_PER_STEP: usize = 4;

const NO_LINK: u32 = u32::MAX;
const NO_DEADLINE: u64 = u64::MAX;

/// Sees the traffic frames and datagrams that cross the network.
pub trait Observer {
    /// `from` puts a traffic frame on its link to `to`; returning false
    /// drops it.
    fn on_traffic(&mut self, from: NodeId, to: NodeId, frame: &[u8]) -> bool;
    /// The router at `node` delivered a datagram to its application.
    fn on_delivery(&mut self, node: NodeId, delivery: Delivery);
}

/// An observer that lets every frame through and looks at nothing.
pub struct Unobserved;

impl Observer for Unobserved {
    fn on_traffic(&mut self, _from: NodeId, _to: NodeId, _frame: &[u8]) -> bool {
        true
    }

    fn on_delivery(&mut self, _node: NodeId, _delivery: Delivery) {}
}

/// An observer that lets every frame through and keeps every datagram
/// delivered, by node.
#[derive(Debug, Default)]
pub struct Inboxes {
    /// The datagrams delivered at each node (indexed by node), in order.
    pub by_node: Vec<Vec<Delivery>>,
}

impl Inboxes {
    /// Whether `node` got a datagram from `source` carrying `payload`.
    pub fn received(&self, node: NodeId, source: &PublicKey, payload: &[u8]) -> bool {
        self.by_node.get(node as usize).is_some_and(|inbox| {
            inbox
                .iter()
                .any(|d| d.source == *source && d.payload == payload)
        })
    }

    /// Forgets every datagram delivered so far.
    pub fn clear(&mut self) {
        self.by_node.iter_mut().for_each(Vec::clear);
    }
}

impl Observer for Inboxes {
    fn on_traffic(&mut self, _from: NodeId, _to: NodeId, _frame: &[u8]) -> bool {
        true
    }

    fn on_delivery(&mut self, node: NodeId, delivery: Delivery) {
        let index = node as usize;
        if self.by_node.len() <= index {
            self.by_node.resize_with(index + 1, Vec::new);
        }
        self.by_node[index].push(delivery);
    }
}

/// One node of a network to build.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its signing key.
    pub key: SigningKey,
    /// When its router starts, in virtual milliseconds; its links can be
    /// connected from then on.
    pub start_ms: u64,
    /// The URI its peers see for it.
    pub uri: String,
}

/// A peering a router closed by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// Virtual time, in milliseconds.
    pub at_ms: u64,
    /// The URI of the node that closed it.
    pub node: String,
    /// Its port there.
    pub port: Port,
    /// Why.
    pub reason: String,
}

/// Counters over the whole run.
#[derive(Debug, Default, Clone)]
pub struct NetworkStats {
    /// Frames put on links, by frame type byte (the last slot counts
    /// unknown types).
    pub frames_by_type: [u64; 6],
    /// Bytes put on links.
    pub bytes: u64,
    /// Frames lost because their link was cut while they were in flight.
    pub lost_in_flight: u64,
    /// Frames a router addressed to a port with no live link.
    pub sent_to_dead_port: u64,
    /// Peerings a router closed by itself (bad frame, dead peer).
    pub peerings_closed_by_router: u64,
    /// Times a router was stepped (frames handled, timer fired, or both).
    pub node_steps: u64,
    /// Virtual time of the last change of any router's tree parent.
    pub last_parent_change_ms: u64,
    /// Virtual time of the last change of any router's descending node.
    pub last_descending_change_ms: u64,
    /// The first peerings a router closed by itself (at most 20).
    pub first_closures: Vec<Closure>,
}

/// A frame on its way across a link.
struct InFlight {
    to: NodeId,
    port: Port,
    link: u32,
    epoch: u32,
    frame: Vec<u8>,
}

/// One link of the topology and its current peering.
struct Link {
    ends: [NodeId; 2],
    ports: [Port; 2],
    up: bool,
    /// Bumped on every cut, so frames sent on an older peering are lost.
    epoch: u32,
}

/// What a router produced in one step.
#[derive(Default)]
struct NodeOutput {
    transmits: Vec<Transmit>,
    deliveries: Vec<Delivery>,
    /// Ports the router closed itself, with the reason.
    closed: Vec<(Port, String)>,
    /// Whether its tree parent changed.
    parent_changed: bool,
    /// Whether its descending node changed.
    descending_changed: bool,
    next_timeout: Option<Millis>,
}

/// The routers of a topology and the links between them.
pub struct Network {
    routers: Vec<Router>,
    keys: Vec<PublicKey>,
    uris: Vec<String>,
    links: Vec<Link>,
    /// For each node, the link behind each of its ports.
    port_links: Vec<Vec<u32>>,
    latency: u64,
    now: u64,
    arrivals: BTreeMap<u64, Vec<InFlight>>,
    timers: BinaryHeap<Reverse<(u64, NodeId)>>,
    deadlines: Vec<u64>,
    traffic_in_flight: usize,
    pool: Option<rayon::ThreadPool>,
    outputs: Vec<NodeOutput>,
    stats: NetworkStats,
}

impl Network {
    /// Creates a router per node of `nodes` with `config`, and the links
    /// `links` between them (each a pair of indices into `nodes`), none
    /// peered yet. Every frame takes `latency_ms` (at least 1) to cross a
    /// link. `threads` above one steps routers in parallel.
    pub fn new(
        nodes: Vec<NodeSpec>,
        links: &[(NodeId, NodeId)],
        config: &RouterConfig,
        latency_ms: u64,
        threads: usize,
    ) -> Network {
        assert!(latency_ms >= 1, "link latency must be at least 1 ms");
        let n = nodes.len();
        let keys: Vec<PublicKey> = nodes.iter().map(|node| PublicKey::of(&node.key)).collect();
        let starts: Vec<u64> = nodes.iter().map(|node| node.start_ms).collect();
        let mut uris = Vec::with_capacity(n);
        let routers: Vec<Router> = nodes
            .into_iter()
            .map(|node| {
                uris.push(node.uri);
                Router::new(node.key, config.clone(), Millis(EPOCH_MS + node.start_ms))
            })
            .collect();
        let pool = (threads > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("cannot start worker threads")
        });
        let mut network = Network {
            routers,
            keys,
            uris,
            links: Vec::new(),
            port_links: vec![Vec::new(); n],
            latency: latency_ms,
            now: 0,
            arrivals: BTreeMap::new(),
            timers: BinaryHeap::new(),
            deadlines: vec![NO_DEADLINE; n],
            traffic_in_flight: 0,
            pool,
            outputs: Vec::new(),
            stats: NetworkStats::default(),
        };
        for &(a, b) in links {
            network.add_link(a, b);
        }
        for node in 0..n as NodeId {
            let next = network.routers[node as usize].poll_timeout();
            network.schedule(node, next, starts[node as usize]);
        }
        network
    }

    /// A network of routers with the keys `keys` (node `i` called
    /// `node{i}`), all started at virtual time zero with `config`, a
    /// latency of 1 ms, stepped on this thread, and every one of `links`
    /// connected.
    pub fn connected(
        keys: Vec<SigningKey>,
        links: &[(NodeId, NodeId)],
        config: &RouterConfig,
    ) -> Network {
        let nodes = keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| NodeSpec {
                key,
                start_ms: 0,
                uri: format!("node{i}"),
            })
            .collect();
        let mut network = Network::new(nodes, links, config, 1, 1);
        for link in 0..network.link_count() {
            network.connect(link, &mut Unobserved);
        }
        network
    }

    /// Adds a link between `a` and `b`, not peered yet, and returns its
    /// index.
    pub fn add_link(&mut self, a: NodeId, b: NodeId) -> usize {
        assert!(
            (a as usize) < self.routers.len() && (b as usize) < self.routers.len() && a != b,
            "a link joins two distinct nodes of the network"
        );
        self.links.push(Link {
            ends: [a, b],
            ports: [0, 0],
            up: false,
            epoch: 0,
        });
        self.links.len() - 1
    }

    /// How many links there are, up or down.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// The port on `node` of link `link` while it is up.
    pub fn port_of(&self, link: usize, node: NodeId) -> Option<Port> {
        let l = self.links.get(link).filter(|l| l.up)?;
        let side = l.ends.iter().position(|&end| end == node)?;
        Some(l.ports[side])
    }

    /// How many nodes there are.
    pub fn node_count(&self) -> usize {
        self.routers.len()
    }

    /// Virtual milliseconds since the start.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The public key of every node.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Counters so far.
    pub fn stats(&self) -> &NetworkStats {
        &self.stats
    }

    /// Every router's drop counters, added up.
    pub fn router_counters(&self) -> Counters {
        self.routers
            .iter()
            .map(Router::counters)
            .fold(Counters::default(), |mut sum, c| {
                sum.add(&c);
                sum
            })
    }

    /// The router of `node`, for inspection.
    pub fn router(&self, node: NodeId) -> &Router {
        &self.routers[node as usize]
    }

    /// Peers both ends of the link with index `link` now; both ends must
    /// have started.
    pub fn connect(&mut self, link: usize, observer: &mut impl Observer) {
        if self.links[link].up {
            return;
        }
        let now = Millis(EPOCH_MS + self.now);
        let ends = self.links[link].ends;
        for side in 0..2 {
            let (node, peer) = (ends[side], ends[1 - side]);
            let info = PeerInfo {
                key: self.keys[peer as usize],
                peer_type: PeerType::Remote,
                zone: "sim".to_owned(),
                uri: self.uris[peer as usize].clone(),
            };
            let port = self.routers[node as usize].add_peer(info, now);
            self.links[link].ports[side] = port;
            self.map_port(node, port, link as u32);
        }
        self.links[link].up = true;
        for node in ends {
            self.collect_and_apply(node, observer);
        }
    }

    /// Closes the peering on the link with index `link` at both ends.
    pub fn disconnect(&mut self, link: usize, observer: &mut impl Observer) {
        if !self.links[link].up {
            return;
        }
        let now = Millis(EPOCH_MS + self.now);
        let ends = self.close_link(link as u32);
        for (node, port) in ends {
            self.routers[node as usize].remove_peer(port, now);
            self.collect_and_apply(node, observer);
        }
    }

    /// Sends a datagram from the application at `source` to `dest`.
    pub fn send(
        &mut self,
        source: NodeId,
        dest: PublicKey,
        payload: &[u8],
        observer: &mut impl Observer,
    ) -> bool {
        let now = Millis(EPOCH_MS + self.now);
        let sent = self.routers[source as usize]
            .send(dest, payload, now)
            .is_ok();
        self.collect_and_apply(source, observer);
        sent
    }

    /// Runs every event before virtual time `t`, then sets the clock to `t`.
    pub fn run_before(&mut self, t: u64, observer: &mut impl Observer) {
        while let Some(next) = self.next_event_time() {
            if next >= t {
                break;
            }
            self.step(next, observer);
        }
        self.now = self.now.max(t);
    }

    /// Runs until no traffic frame is in flight: every datagram sent so far
    /// has been delivered or dropped.
    pub fn run_until_no_traffic(&mut self, observer: &mut impl Observer) {
        while self.traffic_in_flight > 0 {
            let Some(next) = self.next_event_time() else {
                break;
            };
            self.step(next, observer);
        }
    }

    fn next_event_time(&mut self) -> Option<u64> {
        while let Some(&Reverse((when, node))) = self.timers.peek() {
            if self.deadlines[node as usize] == when {
                break;
            }
            self.timers.pop();
        }
        let timer = self.timers.peek().map(|&Reverse((when, _))| when);
        let arrival = self.arrivals.keys().next().copied();
        match (timer, arrival) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every node with a frame arriving or a timer due at `t`.
    fn step(&mut self, t: u64, observer: &mut impl Observer) {
        self.now = t;
        let mut frames = self.arrivals.remove(&t).unwrap_or_default();
        self.traffic_in_flight -= frames.iter().filter(|f| is_traffic(&f.frame)).count();
        let before = frames.len();
        frames.retain(|f| self.links[f.link as usize].epoch == f.epoch);
        self.stats.lost_in_flight += (before - frames.len()) as u64;
        // Stable: frames from one link keep their order.
        frames.sort_by_key(|f| f.to);

        let mut timer_nodes = Vec::new();
        while let Some(&Reverse((when, node))) = self.timers.peek() {
            if when > t {
                break;
            }
            self.timers.pop();
            if self.deadlines[node as usize] == when {
                self.deadlines[node as usize] = NO_DEADLINE;
                timer_nodes.push(node);
            }
        }
        timer_nodes.sort_unstable();
        timer_nodes.dedup();

        let work = merge_work(&frames, &timer_nodes);
        self.stats.node_steps += work.len() as u64;
        let mut outputs = std::mem::take(&mut self.outputs);
        if outputs.len() < work.len() {
            outputs.resize_with(work.len(), NodeOutput::default);
        }
        let now = Millis(EPOCH_MS + t);
        {
            let routers = disjoint_mut(&mut self.routers, work.iter().map(|w| w.0 as usize));
            let mut jobs: Vec<_> = routers
                .into_iter()
                .zip(work.iter())
                .zip(outputs.iter_mut())
                .map(|((router, (_, range)), out)| (router, &frames[range.clone()], out))
                .collect();
            match &self.pool {
                Some(pool) if jobs.len() > 1 => pool.install(|| {
                    jobs.par_iter_mut()
                        .for_each(|(router, frames, out)| run_node(router, frames, now, out))
                }),
                _ => {
                    for (router, frames, out) in jobs.iter_mut() {
                        run_node(router, frames, now, out);
                    }
                }
            }
        }
        for (index, &(node, _)) in work.iter().enumerate() {
            self.apply(node, &mut outputs[index], t + 1, observer);
        }
        self.outputs = outputs;
    }

    /// Applies what `node` queued outside a step (after a peering change or
    /// a local send).
    fn collect_and_apply(&mut self, node: NodeId, observer: &mut impl Observer) {
        let mut out = NodeOutput::default();
        drain(&mut self.routers[node as usize], &mut out);
        self.apply(node, &mut out, self.now, observer);
    }

    /// Puts `node`'s transmitted frames on their links, hands deliveries to
    /// the observer, closes the links the router closed, and schedules its
    /// next timeout no earlier than `earliest`.
    fn apply(
        &mut self,
        node: NodeId,
        out: &mut NodeOutput,
        earliest: u64,
        observer: &mut impl Observer,
    ) {
        let arrival = self.now + self.latency;
        for transmit in out.transmits.drain(..) {
            let link = self.port_link(node, transmit.port);
            if link == NO_LINK {
                self.stats.sent_to_dead_port += 1;
                continue;
            }
            let frame = transmit.frame;
            let l = &self.links[link as usize];
            let side = usize::from(l.ends[0] == node);
            if is_traffic(&frame) {
                if !observer.on_traffic(node, l.ends[side], &frame) {
                    continue;
                }
                self.traffic_in_flight += 1;
            }
            let frame_type = frame.get(5).map_or(5, |&t| usize::from(t).min(5));
            self.stats.frames_by_type[frame_type] += 1;
            self.stats.bytes += frame.len() as u64;
            let in_flight = InFlight {
                to: l.ends[side],
                port: l.ports[side],
                link,
                epoch: l.epoch,
                frame,
            };
            self.arrivals.entry(arrival).or_default().push(in_flight);
        }
        for delivery in out.deliveries.drain(..) {
            observer.on_delivery(node, delivery);
        }
        if std::mem::take(&mut out.parent_changed) {
            self.stats.last_parent_change_ms = self.now;
        }
        if std::mem::take(&mut out.descending_changed) {
            self.stats.last_descending_change_ms = self.now;
        }
        let closed: Vec<(Port, String)> = out.closed.drain(..).collect();
        for (port, reason) in closed {
            let link = self.port_link(node, port);
            if link == NO_LINK {
                continue;
            }
            self.stats.peerings_closed_by_router += 1;
            if self.stats.first_closures.len() < CLOSURES_KEPT {
                self.stats.first_closures.push(Closure {
                    at_ms: self.now,
                    node: self.uris[node as usize].clone(),
                    port,
                    reason,
                });
            }
            let now = Millis(EPOCH_MS + self.now);
            for (end, end_port) in self.close_link(link) {
                if end != node {
                    self.routers[end as usize].remove_peer(end_port, now);
                    self.collect_and_apply(end, observer);
                }
            }
        }
        self.schedule(node, out.next_timeout.take(), earliest);
    }

    /// Marks a link down, forgets its ports and returns both ends.
    fn close_link(&mut self, link: u32) -> [(NodeId, Port); 2] {
        let l = &mut self.links[link as usize];
        l.up = false;
        l.epoch = l.epoch.wrapping_add(1);
        let ends = [(l.ends[0], l.ports[0]), (l.ends[1], l.ports[1])];
        for (node, port) in ends {
            self.map_port(node, port, NO_LINK);
        }
        ends
    }

    fn map_port(&mut self, node: NodeId, port: Port, link: u32) {
        let ports = &mut self.port_links[node as usize];
        let index = usize::try_from(port).expect("port number beyond memory");
        if ports.len() <= index {
            ports.resize(index + 1, NO_LINK);
        }
        ports[index] = link;
    }

    fn port_link(&self, node: NodeId, port: Port) -> u32 {
        usize::try_from(port)
            .ok()
            .and_then(|index| self.port_links[node as usize].get(index))
            .copied()
            .unwrap_or(NO_LINK)
    }

    fn schedule(&mut self, node: NodeId, next: Option<Millis>, earliest: u64) {
        let Some(next) = next else {
            return;
        };
        let when = next.0.saturating_sub(EPOCH_MS).max(earliest);
        if when < self.deadlines[node as usize] {
            self.deadlines[node as usize] = when;
            self.timers.push(Reverse((when, node)));
        }
    }
}

/// Whether a frame's type byte says traffic.
fn is_traffic(frame: &[u8]) -> bool {
    frame.len() >= HEADER_LEN && frame[5] == FrameType::Traffic as u8
}

/// The nodes to run in a step, in node order, each with the range of its
/// arriving frames in `frames` (sorted by node).
fn merge_work(
    frames: &[InFlight],
    timer_nodes: &[NodeId],
) -> Vec<(NodeId, std::ops::Range<usize>)> {
    let mut work = Vec::new();
    let mut timers = timer_nodes.iter().peekable();
    let mut start = 0;
    while start < frames.len() {
        let node = frames[start].to;
        let end = start + frames[start..].iter().take_while(|f| f.to == node).count();
        while let Some(&&timer_node) = timers.peek() {
            if timer_node >= node {
                break;
            }
            work.push((timer_node, 0..0));
            timers.next();
        }
        if timers.peek() == Some(&&node) {
            timers.next();
        }
        work.push((node, start..end));
        start = end;
    }
    work.extend(timers.map(|&node| (node, 0..0)));
    work
}

/// Mutable references to the elements of `slice` at `indices`, which must
/// be strictly increasing.
fn disjoint_mut<T>(slice: &mut [T], indices: impl Iterator<Item = usize>) -> Vec<&mut T> {
    let mut rest = slice;
    let mut offset = 0;
    let mut picked = Vec::new();
    for index in indices {
        let tail = std::mem::take(&mut rest);
        let (item, tail) = tail[index - offset..]
            .split_first_mut()
            .expect("index out of range or not increasing");
        picked.push(item);
        rest = tail;
        offset = index + 1;
    }
    picked
}

/// One node's share of a step: its arriving frames, then its timer.
fn run_node(router: &mut Router, frames: &[InFlight], now: Millis, out: &mut NodeOutput) {
    for f in frames {
        if out.closed.iter().any(|(port, _)| *port == f.port) {
            continue;
        }
        if let Err(error) = router.handle_frame(f.port, &f.frame, now) {
            out.closed.push((f.port, error.to_string()));
        }
    }
    for _ in 0..TIMER_FIRINGS_PER_STEP {
        match router.poll_timeout() {
            Some(due) if due <= now => router.handle_timeout(now),
            _ => break,
        }
    }
    drain(router, out);
}

/// Moves everything a router has queued into `out`.
fn drain(router: &mut Router, out: &mut NodeOutput) {
    while let Some(transmit) = router.poll_transmit() {
        out.transmits.push(transmit);
    }
    while let Some(delivery) = router.poll_delivery() {
        out.deliveries.push(delivery);
    }
    while let Some(event) = router.poll_event() {
        match event {
            Event::PeerRemoved { port, reason, .. } => out.closed.push((port, reason.to_string())),
            Event::ParentChanged { .. } => out.parent_changed = true,
            Event::DescendingChanged { .. } => out.descending_changed = true,
            _ => {}
        }
    }
    out.next_timeout = router.poll_timeout();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_to(to: NodeId) -> InFlight {
        InFlight {
            to,
            port: 1,
            link: 0,
            epoch: 0,
            frame: Vec::new(),
        }
    }

    #[test]
    fn work_merges_frame_nodes_and_timer_nodes_in_order() {
        let frames = [frame_to(2), frame_to(2), frame_to(5), frame_to(9)];
        let work = merge_work(&frames, &[0, 5, 7, 12]);
        assert_eq!(
            work,
            vec![
                (0, 0..0),
                (2, 0..2),
                (5, 2..3),
                (7, 0..0),
                (9, 3..4),
                (12, 0..0)
            ]
        );
    }

    #[test]
    fn disjoint_mut_picks_the_requested_elements() {
        let mut values = [10, 11, 12, 13, 14];
        for value in disjoint_mut(&mut values, [0, 3, 4].into_iter()) {
            *value += 100;
        }
        assert_eq!(values, [110, 11, 12, 113, 114]);
    }
}
