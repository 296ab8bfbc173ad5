//! Everything a node counts, in one snapshot: [`NodeStats`], and the
//! queue fields of the state dump that only the forwarding plane knows.

use pinecone_engine::control::{Counters, PeerType, StateDump};
use pinecone_engine::forward::{DropCause, PlaneStats};
use serde::Serialize;

use super::control::Control;
use super::limits::PeerRefusals;
use crate::admission::AdmissionStats;
use crate::handshake_stats::HandshakeStats;
use crate::sessions::SessionStats;

/// A node's counters and gauges at one moment ([`Node::stats`]).
///
/// Counters (`*_total` in the Prometheus rendering) count since the node
/// started, over every peering it ever had, and only go up. Nothing is
/// broken down by peer key: per-peering figures are in
/// [`Node::peers`] and the state dump.
///
/// [`Node::stats`]: super::Node::stats
/// [`Node::peers`]: super::Node::peers
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStats {
    /// Peerings now, by medium.
    pub peerings: PeeringsByType,
    /// The forwarding plane: transit traffic, frames and bytes in and out,
    /// drops by cause, and its queues now.
    pub forwarding: PlaneStats,
    /// The control plane (the router): protocol frames by type, signature
    /// checks and failures, root and parent changes, and what it dropped.
    pub router: Counters,
    /// This node's place in the spanning tree now.
    pub tree: TreeStats,
    /// SNEK path entries held now.
    pub snek_paths: u64,
    /// Received protocol frames taken from the forwarding plane and
    /// waiting for the router now.
    pub router_backlog_frames: u64,
    /// Inbound connections admitted and refused before any handshake.
    pub connections: AdmissionStats,
    /// Handshakes by outcome (inbound, dialled and attached).
    pub handshakes: HandshakeStats,
    /// Peerings taken in after their handshake, static peers included.
    pub peerings_accepted: u64,
    /// Peerings refused at the peering limits after their handshake.
    pub peerings_refused: PeerRefusals,
    /// End-to-end sessions: how many now, and what their endpoint refused
    /// and dropped (all zeros while no session was ever used).
    pub sessions: SessionsStats,
}

/// End-to-end sessions ([`Node::session_count`](super::Node::session_count)
/// and [`Node::session_stats`](super::Node::session_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SessionsStats {
    /// Sessions established now.
    pub established: u64,
    /// Incoming attempts refused at the limits (or for no protocol).
    pub refused_busy: u64,
    /// Incoming attempts answered with a Retry (address validation).
    pub retries: u64,
    /// Incoming attempts whose handshake failed.
    pub failed_handshakes: u64,
    /// Dials whose handshake failed.
    pub failed_dials: u64,
    /// Sessions replaced by a newer one with the same key and protocol.
    pub replaced: u64,
    /// Streams refused (no listener, or its backlog full).
    pub refused_streams: u64,
    /// Datagrams dropped at the session thread's full queue.
    pub datagrams_dropped: u64,
}

impl SessionsStats {
    /// The sessions established now with the endpoint's counts.
    pub(crate) fn new(established: usize, counts: SessionStats) -> SessionsStats {
        SessionsStats {
            established: established as u64,
            refused_busy: counts.refused_busy,
            retries: counts.retries,
            failed_handshakes: counts.failed_handshakes,
            failed_dials: counts.failed_dials,
            replaced: counts.replaced,
            refused_streams: counts.refused_streams,
            datagrams_dropped: counts.datagrams_dropped,
        }
    }

    /// Each count's name (`snake_case`, as serialised) with its value, the
    /// established sessions left out.
    pub fn events(&self) -> [(&'static str, u64); 7] {
        [
            ("refused_busy", self.refused_busy),
            ("retries", self.retries),
            ("failed_handshakes", self.failed_handshakes),
            ("failed_dials", self.failed_dials),
            ("replaced", self.replaced),
            ("refused_streams", self.refused_streams),
            ("datagrams_dropped", self.datagrams_dropped),
        ]
    }
}

/// Peerings by medium (the reference's peer types).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeeringsByType {
    /// In-process or local pipes, conduits.
    pub pipe: u64,
    /// Found by LAN multicast discovery.
    pub multicast: u64,
    /// Found by Bonjour discovery.
    pub bonjour: u64,
    /// TCP and WebSocket peers.
    pub remote: u64,
    /// Bluetooth channels.
    pub bluetooth: u64,
}

impl PeeringsByType {
    fn count(&mut self, peer_type: PeerType) {
        let counter = match peer_type {
            PeerType::Pipe => &mut self.pipe,
            PeerType::Multicast => &mut self.multicast,
            PeerType::Bonjour => &mut self.bonjour,
            PeerType::Remote => &mut self.remote,
            PeerType::Bluetooth => &mut self.bluetooth,
        };
        *counter += 1;
    }

    /// Each medium's name with its count.
    pub fn by_type(&self) -> [(&'static str, u64); 5] {
        [
            ("pipe", self.pipe),
            ("multicast", self.multicast),
            ("bonjour", self.bonjour),
            ("remote", self.remote),
            ("bluetooth", self.bluetooth),
        ]
    }
}

/// A node's place in the spanning tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TreeStats {
    /// Whether it roots its own tree (it has no parent).
    pub is_root: bool,
    /// Its distance from the root: the length of its coordinates.
    pub depth: u64,
}

impl Control {
    /// The node's stats, but for what the transport counts (connections
    /// and handshakes), which the handle adds.
    pub(super) fn stats(&mut self) -> NodeStats {
        let mut peerings = PeeringsByType::default();
        for peer in self.router.peers() {
            peerings.count(peer.peer_type);
        }
        NodeStats {
            peerings,
            forwarding: self.fabric.stats(),
            router: self.router.counters(),
            tree: TreeStats {
                is_root: self.router.parent().is_none(),
                depth: self.router.coords().0.len() as u64,
            },
            snek_paths: self.router.routing_table().path_count() as u64,
            router_backlog_frames: self.frames.len() as u64,
            connections: AdmissionStats::default(),
            handshakes: HandshakeStats::default(),
            peerings_accepted: self.counts.admitted(),
            peerings_refused: self.counts.refusals(),
            sessions: SessionsStats::default(),
        }
    }

    /// Fills the fields of the state dump the router cannot know: the
    /// traffic the workers moved on each peering (the router sees protocol
    /// frames only, and the datagrams it sent itself) and what waits on
    /// each peering's lanes, with their bounds. Each peering's counters
    /// have one writer, its worker, and are read here without stopping it.
    pub(super) fn add_forwarding_to_dump(&self, dump: &mut StateDump) {
        let config = self.fabric.config();
        for peer in dump.peers.values_mut().flatten() {
            let Some(counters) = self.fabric.counters(peer.port) else {
                continue;
            };
            let stats = counters.snapshot();
            peer.rx_traffic_bytes += stats.traffic_bytes_in;
            peer.tx_traffic_bytes += stats.traffic_bytes_out;
            let proto = &mut peer.proto_queue;
            proto.count += stats.protocol_queue.frames;
            proto.bytes += stats.protocol_queue.bytes;
            proto.size = config.protocol_lane_len as u64;
            let traffic = &mut peer.traffic_queue;
            let dropped = stats.drops.get(DropCause::OutputFull);
            traffic.set_count(traffic.count + stats.traffic_queue.frames);
            traffic.bytes += stats.traffic_queue.bytes;
            traffic.size = config.traffic_lane_len as u64;
            traffic.packets_total = stats.traffic_frames_out + dropped;
            traffic.packets_dropped = dropped;
        }
    }
}
