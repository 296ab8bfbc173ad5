//! The control plane: a sans-IO Pinecone state machine.
//!
//! A [`Router`] holds everything one node knows: its peerings, the spanning
//! tree, SNEK paths, seen broadcasts and cached coordinates. It does no I/O
//! and reads no clock: the caller feeds it whole frames received on a port,
//! adds and removes peerings, passes the current time in, and drains frames
//! to transmit, datagrams for the local application and events. The same
//! inputs always produce the same outputs.
//!
//! ```text
//!  add_peer / remove_peer / handle_frame / send / handle_timeout   (inputs)
//!        │
//!     Router ──► take_table_update  (Arc<RoutingTable> for a forwarding plane)
//!        │
//!  poll_transmit / poll_delivery / poll_event / poll_timeout       (outputs)
//! ```
//!
//! Every transit decision is answered by a [`RoutingTable`], an immutable
//! snapshot the router publishes and also forwards its own frames through.
//!
//! Layout: [`time`] (clock and timer values), [`RouterConfig`], the peer table
//! ([`PeerInfo`], [`PeerType`]), the tree ([`Router`] methods in `tree`,
//! with the decision table in `decision`), SNEK (`snek`), wakeup broadcasts
//! (`broadcast`), traffic (`traffic`), timers (`timers`), the routing table
//! ([`RoutingTable`]), the [`CoordsCache`], [`Event`]s and the
//! [`StateDump`].
//!
//! Memory is bounded by [`RouterConfig`] caps on path entries, seen broadcasts,
//! cached coordinates and undrained events and deliveries; each cap's
//! documentation says what happens at it.

mod announcement;
mod broadcast;
mod clock_cache;
mod config;
mod coords_cache;
mod counters;
mod decision;
mod dump;
mod error;
mod events;
mod key_cache;
mod outbox;
mod peers;
mod recency;
mod reroute;
mod signed_payloads;
mod snek;
mod switches;
mod table;
mod table_cell;
pub mod time;
mod timers;
mod traffic;
mod tree;

use std::sync::Arc;

use ed25519_dalek::SigningKey;

pub use announcement::Root;
pub use broadcast::BROADCAST_HOP_LIMIT;
pub use config::RouterConfig;
pub use coords_cache::{CoordsCache, MAX_CACHED_COORDS_LEN};
pub use counters::{Counters, FrameCounts, SignatureCounts};
pub use dump::{
    PathDump, PeerDump, PeerRef, QueueDump, RootDump, SnekDump, StateDump, TrafficQueueDump,
    WatermarkDump,
};
pub use error::{BootstrapError, BroadcastError, PeerError, SendError};
pub use events::{Delivery, Event, RemovalReason, Transmit};
pub use peers::{ByteCounters, PeerInfo, PeerSummary, PeerType, Port, LOCAL_PORT};
pub use table::{
    DropReason, Forwarding, NextHop, PathEntry, RoutingTable, SnekRoute, TrafficAction,
};
pub use time::Millis;

use crate::wire::{Coords, Frame, PublicKey};
use broadcast::BroadcastState;
use outbox::Outbox;
use peers::PeerTable;
use reroute::RelayStore;
use snek::SnekState;
use table_cell::TableCell;
use tree::TreeState;

/// One Pinecone node's protocol state.
pub struct Router {
    signing_key: SigningKey,
    public_key: PublicKey,
    config: RouterConfig,
    peers: PeerTable,
    tree: TreeState,
    snek: SnekState,
    relays: RelayStore,
    broadcasts: BroadcastState,
    coords_cache: CoordsCache,
    table: TableCell,
    out: Outbox,
    counters: Counters,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("public_key", &self.public_key)
            .field("peers", &self.peers.len())
            .field("parent", &self.tree.parent)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// A node with no peers, rooting its own tree.
    pub fn new(signing_key: SigningKey, config: RouterConfig, now: Millis) -> Router {
        let public_key = PublicKey::of(&signing_key);
        let mut router = Router {
            table: TableCell::new(public_key, config.hop_limiting),
            peers: PeerTable::default(),
            tree: TreeState::new(now),
            snek: SnekState::new(now),
            relays: RelayStore::default(),
            broadcasts: BroadcastState::new(&config, now),
            coords_cache: CoordsCache::new(config.max_cached_coords),
            out: Outbox::new(config.max_pending_events, config.max_pending_deliveries),
            counters: Counters::default(),
            signing_key,
            public_key,
            config,
        };
        router.reset(now);
        router
    }

    /// This node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The settings it runs with.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// A peering whose handshake succeeded: allocates the lowest free port
    /// and queues our root announcement to it.
    pub fn add_peer(&mut self, peer: PeerInfo, now: Millis) -> Port {
        let key = peer.key;
        let peer_type = peer.peer_type;
        let zone = peer.zone.clone();
        let port = self.peers.attach(peer, now);
        self.out.event(Event::PeerAdded {
            port,
            key,
            peer_type,
            zone,
        });
        self.send_announcement(port, now);
        port
    }

    /// The peering's connection closed (or the runtime closed it). Unknown
    /// ports are ignored.
    pub fn remove_peer(&mut self, port: Port, now: Millis) {
        self.detach_peer(port, RemovalReason::Disconnected, now);
    }

    /// One whole frame received on `port`.
    ///
    /// On `Err` the peer has already been removed (a
    /// [`Event::PeerRemoved`] carries the reason) and the caller must close
    /// its connection; every other peering is unaffected. Frames of unknown
    /// type are dropped and counted, not fatal. [`PeerError::UnknownPort`]
    /// means no peer is attached to `port`, so there was nothing to remove.
    pub fn handle_frame(&mut self, port: Port, frame: &[u8], now: Millis) -> Result<(), PeerError> {
        let Some(peer) = self.peers.get_mut(port) else {
            return Err(PeerError::UnknownPort);
        };
        peer.last_received = peer.last_received.max(now);
        peer.bytes.count_rx(frame);
        self.counters.frames_received.count(frame);
        let result = self.dispatch(port, frame, now);
        if let Err(error) = result {
            self.detach_peer(port, RemovalReason::Error(error), now);
        }
        result
    }

    fn dispatch(&mut self, port: Port, bytes: &[u8], now: Millis) -> Result<(), PeerError> {
        match Frame::parse(bytes)? {
            Frame::Keepalive(_) => Ok(()),
            Frame::TreeAnnouncement(frame) => self.handle_announcement(port, frame.payload(), now),
            Frame::Bootstrap(frame) => self.handle_bootstrap(port, &frame, now),
            Frame::Traffic(frame) => {
                self.handle_traffic(port, &frame, bytes, now);
                Ok(())
            }
            Frame::WakeupBroadcast(frame) => self.handle_broadcast(port, &frame, bytes, now),
            Frame::Unknown(_) => {
                self.counters.unknown_frames += 1;
                Ok(())
            }
        }
    }

    /// Records traffic that a forwarding plane moved on `port` without the
    /// state machine seeing it, so that keepalive and dead-peer timers see
    /// the peering as active. Frames passed through
    /// [`handle_frame`](Self::handle_frame) and
    /// [`poll_transmit`](Self::poll_transmit) count automatically.
    pub fn note_activity(&mut self, port: Port, sent: bool, received: bool, now: Millis) {
        if let Some(peer) = self.peers.get_mut(port) {
            if sent {
                peer.last_sent = peer.last_sent.max(now);
            }
            if received {
                peer.last_received = peer.last_received.max(now);
            }
        }
    }

    /// The next frame to write, in order per port.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.next_transmit()
    }

    /// The next datagram for the local application.
    pub fn poll_delivery(&mut self) -> Option<Delivery> {
        self.out.next_delivery()
    }

    /// The next observable event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.next_event()
    }

    /// The routing table, if it changed since the last call.
    ///
    /// Publication contract: the table returned reflects every change the
    /// state machine has made so far, and a change is applied to the table
    /// before any frame it causes is queued. So a runtime that publishes this
    /// update (when `Some`) to its forwarding plane *before* draining
    /// [`poll_transmit`](Self::poll_transmit) never transmits a frame caused
    /// by a change before the table containing the change is visible: for
    /// example a path entry is in the table before the bootstrap that
    /// created it is forwarded, so traffic stamped upstream with the new
    /// watermark finds it here.
    pub fn take_table_update(&mut self) -> Option<Arc<RoutingTable>> {
        self.refresh_table();
        self.table.take_update()
    }

    /// The current routing table, whether or not it changed.
    pub fn routing_table(&mut self) -> Arc<RoutingTable> {
        self.refresh_table();
        Arc::clone(self.table.current())
    }

    /// This node's tree coordinates.
    pub fn coords(&self) -> Coords {
        self.current_coords()
    }

    /// The root key and sequence this node follows.
    pub fn root(&self) -> (PublicKey, u64) {
        let root = self.current_root();
        (root.key, root.seq)
    }

    /// The parent's port, or `None` when this node is a root.
    pub fn parent(&self) -> Option<Port> {
        self.tree.parent
    }

    /// The current SNEK descending node (the next key down), if any.
    pub fn descending(&self) -> Option<PublicKey> {
        self.snek.descending.map(|d| d.key)
    }

    /// The peerings, in port order.
    pub fn peers(&self) -> Vec<PeerSummary> {
        self.peers
            .iter()
            .map(|(port, peer)| {
                let ann = peer.announcement.as_ref();
                PeerSummary {
                    port,
                    key: peer.info.key,
                    peer_type: peer.info.peer_type,
                    zone: peer.info.zone.clone(),
                    uri: peer.info.uri.clone(),
                    coords: ann.map(|a| Coords(a.peer_coords().to_vec())),
                    root: ann.map(|a| (a.root.key, a.root.seq)),
                    order: ann.map(|a| a.order),
                    is_parent: self.tree.parent == Some(port),
                    bytes: peer.bytes,
                }
            })
            .collect()
    }

    /// The coordinates cache used for local sends.
    pub fn coords_cache(&self) -> &CoordsCache {
        &self.coords_cache
    }

    /// What was dropped or refused so far.
    pub fn counters(&self) -> Counters {
        Counters {
            events_dropped: self.out.events_dropped,
            deliveries_dropped: self.out.deliveries_dropped,
            ..self.counters
        }
    }

    /// Queues `frame` for `port`, counting it as sent.
    fn queue(&mut self, port: Port, frame: Vec<u8>, now: Millis) {
        let Some(peer) = self.peers.get_mut(port) else {
            return;
        };
        peer.last_sent = peer.last_sent.max(now);
        peer.bytes.count_tx(&frame);
        self.counters.frames_sent.count(&frame);
        self.out.transmit(port, frame);
    }

    /// Removes the peer on `port` and everything learned through it.
    fn detach_peer(&mut self, port: Port, reason: RemovalReason, now: Millis) {
        let Some(peer) = self.peers.detach(port) else {
            return;
        };
        self.out.discard_port(port);
        self.out.event(Event::PeerRemoved {
            port,
            key: peer.info.key,
            reason,
        });
        if self.peers.is_empty() {
            self.reset(now);
            return;
        }
        self.table.mark_tree_dirty();
        self.remove_paths_through(port);
        if self.snek.descending.is_some_and(|d| d.source == port) {
            self.set_descending(None, now);
        }
        if self.tree.parent == Some(port) && self.select_new_parent(now) {
            self.bootstrap_soon(now);
        }
    }

    /// Forgets all tree and SNEK state: the node starts again as a root of
    /// its own (with its root sequence moved on) and ticks SNEK maintenance
    /// now. Runs at start and when the last peer goes.
    fn reset(&mut self, now: Millis) {
        self.set_parent(None);
        self.set_descending(None, now);
        self.tree.ordering = 0;
        self.tree.reparent_at = None;
        for (_, peer) in self.peers.iter_mut() {
            peer.announcement = None;
        }
        self.clear_paths();
        self.coords_cache.clear();
        self.broadcasts.clear();
        self.table.mark_tree_dirty();
        self.maintain_tree(now);
        self.snek_tick(now);
    }

    /// Rebuilds the tree part of the routing table if it is out of date.
    fn refresh_table(&mut self) {
        if !self.table.tree_is_dirty() {
            return;
        }
        let routes = self.build_tree_routes();
        self.table.set_tree(routes);
    }
}
