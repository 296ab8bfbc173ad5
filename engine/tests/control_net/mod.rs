//! A tiny in-memory network of routers for the control-plane tests: links
//! with a fixed latency, virtual time, and a loop that moves frames between
//! routers and fires their timers.

#![allow(dead_code)]

pub mod craft;
pub mod solo;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use ed25519_dalek::SigningKey;
use pinecone_engine::control::{
    Delivery, Event, Millis, PeerInfo, PeerType, Port, RemovalReason, Router, RouterConfig,
};
use pinecone_engine::wire::PublicKey;

/// Virtual time starts here (a plausible Unix time in milliseconds).
pub const EPOCH: u64 = 1_700_000_000_000;

/// A deterministic signing key for node `index` under `seed`.
pub fn signing_key(seed: u64, index: usize) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    bytes[8..16].copy_from_slice(&(index as u64).to_be_bytes());
    bytes[31] = 0x5a;
    SigningKey::from_bytes(&bytes)
}

#[derive(Debug, Clone)]
struct Link {
    ends: [usize; 2],
    ports: [Port; 2],
    up: bool,
}

/// A frame on its way.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    arrival: u64,
    seq: u64,
    node: usize,
    port: Port,
    link: usize,
    frame: Vec<u8>,
}

/// Routers joined by links.
pub struct Net {
    pub routers: Vec<Router>,
    pub keys: Vec<PublicKey>,
    links: Vec<Link>,
    /// Per node: port → link index.
    port_links: Vec<BTreeMap<Port, usize>>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    /// Virtual milliseconds since [`EPOCH`].
    pub now: u64,
    pub latency: u64,
    /// Datagrams delivered to each node.
    pub inbox: Vec<Vec<Delivery>>,
    /// Events emitted by each node.
    pub events: Vec<Vec<Event>>,
    /// Peerings closed because of an error or timeout: (node, port, reason).
    pub closed: Vec<(usize, Port, RemovalReason)>,
    /// When set, every traffic frame sent is recorded: (sending node, port,
    /// frame).
    pub trace: Option<Vec<(usize, Port, Vec<u8>)>>,
}

impl Net {
    /// `n` routers with default settings.
    pub fn new(n: usize, seed: u64) -> Net {
        Net::with_config(n, seed, RouterConfig::default())
    }

    pub fn with_config(n: usize, seed: u64, config: RouterConfig) -> Net {
        let start = Millis(EPOCH);
        let routers: Vec<Router> = (0..n)
            .map(|i| Router::new(signing_key(seed, i), config.clone(), start))
            .collect();
        let keys = routers.iter().map(Router::public_key).collect();
        let mut net = Net {
            routers,
            keys,
            links: Vec::new(),
            port_links: vec![BTreeMap::new(); n],
            in_flight: BinaryHeap::new(),
            seq: 0,
            now: 0,
            latency: 1,
            inbox: vec![Vec::new(); n],
            events: vec![Vec::new(); n],
            closed: Vec::new(),
            trace: None,
        };
        for node in 0..n {
            net.drain(node);
        }
        net
    }

    pub fn len(&self) -> usize {
        self.routers.len()
    }

    pub fn millis(&self) -> Millis {
        Millis(EPOCH + self.now)
    }

    /// Links `a` and `b`, returning the link's index.
    pub fn connect(&mut self, a: usize, b: usize) -> usize {
        self.connect_typed(a, b, PeerType::Remote)
    }

    pub fn connect_typed(&mut self, a: usize, b: usize, peer_type: PeerType) -> usize {
        let now = self.millis();
        let info = |other: usize| PeerInfo {
            key: self.keys[other],
            peer_type,
            zone: String::new(),
            uri: format!("node{other}"),
        };
        let (info_b, info_a) = (info(b), info(a));
        let port_a = self.routers[a].add_peer(info_b, now);
        let port_b = self.routers[b].add_peer(info_a, now);
        let link = self.links.len();
        self.links.push(Link {
            ends: [a, b],
            ports: [port_a, port_b],
            up: true,
        });
        self.port_links[a].insert(port_a, link);
        self.port_links[b].insert(port_b, link);
        self.drain(a);
        self.drain(b);
        link
    }

    /// Cuts link `link` at both ends, as a closed connection would.
    pub fn disconnect(&mut self, link: usize) {
        if !self.links[link].up {
            return;
        }
        self.links[link].up = false;
        let now = self.millis();
        for side in 0..2 {
            let (node, port) = (self.links[link].ends[side], self.links[link].ports[side]);
            self.port_links[node].remove(&port);
            self.routers[node].remove_peer(port, now);
            self.drain(node);
        }
    }

    /// The port on `node` of link `link`.
    pub fn port_of(&self, link: usize, node: usize) -> Port {
        let l = &self.links[link];
        if l.ends[0] == node {
            l.ports[0]
        } else {
            l.ports[1]
        }
    }

    /// The node at the other end of `node`'s `port`.
    pub fn neighbour(&self, node: usize, port: Port) -> Option<usize> {
        let link = &self.links[*self.port_links[node].get(&port)?];
        Some(if link.ends[0] == node {
            link.ends[1]
        } else {
            link.ends[0]
        })
    }

    /// Moves everything `node` queued onto the links.
    pub fn drain(&mut self, node: usize) {
        let arrival = self.now + self.latency;
        while let Some(t) = self.routers[node].poll_transmit() {
            if let Some(trace) = &mut self.trace {
                if t.frame.get(5) == Some(&3) {
                    trace.push((node, t.port, t.frame.clone()));
                }
            }
            let Some(&link) = self.port_links[node].get(&t.port) else {
                continue;
            };
            let l = &self.links[link];
            let side = usize::from(l.ends[0] != node);
            let (to, port) = (l.ends[1 - side], l.ports[1 - side]);
            self.seq += 1;
            self.in_flight.push(Reverse(InFlight {
                arrival,
                seq: self.seq,
                node: to,
                port,
                link,
                frame: t.frame,
            }));
        }
        while let Some(d) = self.routers[node].poll_delivery() {
            self.inbox[node].push(d);
        }
        let mut to_close = Vec::new();
        while let Some(e) = self.routers[node].poll_event() {
            if let Event::PeerRemoved { port, reason, .. } = &e {
                if *reason != RemovalReason::Disconnected {
                    self.closed.push((node, *port, *reason));
                    to_close.push(*port);
                }
            }
            self.events[node].push(e);
        }
        for port in to_close {
            if let Some(link) = self.port_links[node].remove(&port) {
                // The other end sees its connection close.
                self.links[link].up = false;
                let l = self.links[link].clone();
                let side = usize::from(l.ends[0] != node);
                let (other, other_port) = (l.ends[1 - side], l.ports[1 - side]);
                self.port_links[other].remove(&other_port);
                let now = self.millis();
                self.routers[other].remove_peer(other_port, now);
                self.drain(other);
            }
        }
    }

    /// Injects raw bytes as if `node` received them on `port` now.
    pub fn inject(&mut self, node: usize, port: Port, frame: &[u8]) {
        let now = self.millis();
        let _ = self.routers[node].handle_frame(port, frame, now);
        self.drain(node);
    }

    /// Runs the network until virtual time `until` (ms since [`EPOCH`]).
    pub fn run_until(&mut self, until: u64) {
        loop {
            let next_frame = self.in_flight.peek().map(|Reverse(f)| f.arrival);
            let next_timer = self
                .routers
                .iter()
                .filter_map(|r| r.poll_timeout())
                .map(|t| t.0.saturating_sub(EPOCH))
                .min();
            let next = match (next_frame, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            let now = self.millis();
            while let Some(Reverse(f)) = self.in_flight.peek() {
                if f.arrival > self.now {
                    break;
                }
                let Reverse(f) = self.in_flight.pop().unwrap();
                if !self.links[f.link].up || self.port_links[f.node].get(&f.port) != Some(&f.link) {
                    continue;
                }
                let _ = self.routers[f.node].handle_frame(f.port, &f.frame, now);
                self.drain(f.node);
            }
            for node in 0..self.routers.len() {
                if self.routers[node].poll_timeout().is_some_and(|t| t <= now) {
                    self.routers[node].handle_timeout(now);
                    self.drain(node);
                }
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs for `ms` more milliseconds.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        self.run_until(until);
    }

    /// Sends a datagram from `from` to `to` carrying `payload`.
    pub fn send(&mut self, from: usize, to: usize, payload: &[u8]) -> bool {
        let now = self.millis();
        let key = self.keys[to];
        let ok = self.routers[from].send(key, payload, now).is_ok();
        self.drain(from);
        ok
    }

    /// The index of the node with the highest key.
    pub fn strongest(&self) -> usize {
        (0..self.len()).max_by_key(|&i| self.keys[i]).unwrap()
    }

    /// Whether every node follows the strongest key as root.
    pub fn one_root(&self) -> bool {
        let root = self.keys[self.strongest()];
        self.routers.iter().all(|r| r.root().0 == root)
    }

    /// Sends one datagram between every ordered pair, runs `settle` ms,
    /// and returns the pairs that were not delivered.
    pub fn undelivered_pairs(&mut self, settle: u64) -> Vec<(usize, usize)> {
        for inbox in &mut self.inbox {
            inbox.clear();
        }
        let n = self.len();
        for from in 0..n {
            for to in 0..n {
                if from != to {
                    let payload = pair_payload(from, to);
                    self.send(from, to, &payload);
                }
            }
        }
        self.run_for(settle);
        let mut missing = Vec::new();
        for from in 0..n {
            for to in 0..n {
                if from == to {
                    continue;
                }
                let payload = pair_payload(from, to);
                let got = self.inbox[to]
                    .iter()
                    .any(|d| d.source == self.keys[from] && d.payload == payload);
                if !got {
                    missing.push((from, to));
                }
            }
        }
        missing
    }

    /// Events of `node` matching `pick`.
    pub fn events_of<'a>(
        &'a self,
        node: usize,
        pick: impl Fn(&Event) -> bool + 'a,
    ) -> Vec<&'a Event> {
        self.events[node].iter().filter(|e| pick(e)).collect()
    }
}

fn pair_payload(from: usize, to: usize) -> Vec<u8> {
    format!("{from}->{to}").into_bytes()
}

/// Deterministic pseudo-random numbers (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Topologies: each returns the list of links between node indices.
pub mod topology {
    use super::Rng;

    pub fn line(n: usize) -> Vec<(usize, usize)> {
        (1..n).map(|i| (i - 1, i)).collect()
    }

    pub fn ring(n: usize) -> Vec<(usize, usize)> {
        let mut links = line(n);
        links.push((n - 1, 0));
        links
    }

    pub fn star(n: usize) -> Vec<(usize, usize)> {
        (1..n).map(|i| (0, i)).collect()
    }

    pub fn grid(width: usize, height: usize) -> Vec<(usize, usize)> {
        let mut links = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let i = y * width + x;
                if x + 1 < width {
                    links.push((i, i + 1));
                }
                if y + 1 < height {
                    links.push((i, i + width));
                }
            }
        }
        links
    }

    /// A random connected graph: a random spanning tree plus `extra` links.
    pub fn random(n: usize, extra: usize, seed: u64) -> Vec<(usize, usize)> {
        let mut rng = Rng::new(seed);
        let mut links = Vec::new();
        for i in 1..n {
            links.push((rng.below(i), i));
        }
        let mut added = 0;
        while added < extra {
            let (a, b) = (rng.below(n), rng.below(n));
            if a != b && !links.contains(&(a, b)) && !links.contains(&(b, a)) {
                links.push((a, b));
                added += 1;
            }
        }
        links
    }
}

/// A network of `n` nodes joined as `links`.
pub fn build(n: usize, links: &[(usize, usize)], seed: u64) -> Net {
    let mut net = Net::new(n, seed);
    for &(a, b) in links {
        net.connect(a, b);
    }
    net
}
