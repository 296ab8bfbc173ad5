//! Wakeup broadcasts: a few-hop flood that lets nearby nodes learn of a
//! node, with dedupe, a hop limit, and classic then tree flooding.

use std::collections::BTreeMap;

use super::config::Config;
use super::error::{BroadcastError, PeerError};
use super::events::Event;
use super::peers::{Port, LOCAL_PORT};
use super::recency::RecencyMap;
use super::time::{Millis, BROADCAST_EXPIRY, BROADCAST_FILTER, BROADCAST_INTERVAL};
use super::Router;
use crate::wire::{BroadcastFrame, BroadcastRepr, PublicKey, RootPayload, RootPayloadRepr};

/// Hop limit of a broadcast we originate.
pub const BROADCAST_HOP_LIMIT: u8 = 5;

/// A received broadcast's remaining hop limit at or above which it is
/// flooded to every peer; below it, only to tree neighbours.
const CLASSIC_FLOOD_MIN_HOPS: u8 = BROADCAST_HOP_LIMIT - 1;

/// Who a broadcast is flooded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FloodMode {
    /// Every peer.
    Classic,
    /// Only peers one tree hop away (parent and children).
    Tree,
}

/// Broadcast dedupe and timing.
#[derive(Debug)]
pub(crate) struct BroadcastState {
    /// The last accepted broadcast sequence per source key, stamped with
    /// when it was accepted.
    seen: RecencyMap<u64>,
    /// When our next periodic broadcast goes out; `None` when disabled.
    pub(crate) next_send: Option<Millis>,
}

impl BroadcastState {
    pub(crate) fn new(config: &Config, now: Millis) -> BroadcastState {
        BroadcastState {
            seen: RecencyMap::new(config.max_seen_broadcasts),
            next_send: config
                .wakeup_broadcasts
                .then(|| now.saturating_add(BROADCAST_INTERVAL)),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.seen.clear();
    }

    /// Number of source keys remembered.
    pub(crate) fn seen_count(&self) -> usize {
        self.seen.len()
    }
}

impl Router {
    /// A fresh broadcast from us, signed with our current root.
    fn broadcast_frame(&self, now: Millis) -> Option<Vec<u8>> {
        let root = self.current_root();
        let signed = RootPayloadRepr {
            sequence: now.0,
            root: root.key,
            root_seq: root.seq,
        };
        let mut payload = vec![0; signed.encoded_len()];
        signed.emit_signed(&self.signing_key, &mut payload).ok()?;
        let repr = BroadcastRepr {
            hop_limit: BROADCAST_HOP_LIMIT,
            source_key: self.public_key,
            payload: &payload,
        };
        let mut frame = vec![0; repr.encoded_len()];
        repr.emit(&mut frame).ok()?;
        Some(frame)
    }

    /// Sends a broadcast to a peer that has just announced for the first
    /// time (unless broadcasts are disabled).
    pub(super) fn greet_with_broadcast(&mut self, port: Port, now: Millis) {
        if !self.config.wakeup_broadcasts {
            return;
        }
        if let Some(frame) = self.broadcast_frame(now) {
            self.queue(port, frame, now);
        }
    }

    /// Periodic broadcast: forget stale dedupe entries and flood ours.
    pub(super) fn maintain_broadcasts(&mut self, now: Millis) {
        self.broadcasts.next_send = Some(now.saturating_add(BROADCAST_INTERVAL));
        let expiry = Millis(0).saturating_add(BROADCAST_EXPIRY).0;
        if let Some(last_stale) = now.0.checked_sub(expiry) {
            self.broadcasts
                .seen
                .remove_before(Millis(last_stale.saturating_add(1)));
        }
        if let Some(frame) = self.broadcast_frame(now) {
            self.flood(LOCAL_PORT, &frame, FloodMode::Classic, now);
        }
    }

    /// A wakeup broadcast received on `from`.
    pub(super) fn handle_broadcast(
        &mut self,
        from: Port,
        frame: &BroadcastFrame<'_>,
        raw: &[u8],
        now: Millis,
    ) -> Result<(), PeerError> {
        let source = frame.source_key();
        let signed = RootPayload::parse(frame.payload()).map_err(BroadcastError::Malformed)?;
        if !signed.verify(&source) {
            return Err(BroadcastError::BadSignature.into());
        }
        if signed.root() != self.current_root().key || source == self.public_key {
            self.counters.broadcasts_dropped += 1;
            return Ok(());
        }
        if let Some((&seq, seen)) = self.broadcasts.seen.get(&source) {
            let too_fast = !now.has_elapsed(seen, BROADCAST_FILTER);
            if too_fast || signed.sequence() <= seq {
                self.counters.broadcasts_dropped += 1;
                return Ok(());
            }
        }
        self.broadcasts.seen.insert(source, signed.sequence(), now);
        self.out.event(Event::BroadcastReceived {
            key: source,
            at: now,
        });

        let hop_limit = frame.hop_limit();
        if hop_limit <= 1 {
            return Ok(());
        }
        let hop_limit = hop_limit - 1;
        let mut copy = raw.to_vec();
        if let Some(byte) = copy.get_mut(7) {
            *byte = hop_limit;
        }
        let mode = if hop_limit >= CLASSIC_FLOOD_MIN_HOPS {
            FloodMode::Classic
        } else {
            FloodMode::Tree
        };
        self.flood(from, &copy, mode, now);
        Ok(())
    }

    /// Sends `frame` to every peer but `from` (only tree neighbours in tree
    /// mode), one copy per peer key on its fastest link: the faster medium,
    /// then the earlier announcement, then the lower port.
    fn flood(&mut self, from: Port, frame: &[u8], mode: FloodMode, now: Millis) {
        let ours = self.current_coords();
        let mut chosen: BTreeMap<PublicKey, ((u8, u64, Port), Port)> = BTreeMap::new();
        for (port, peer) in self.peers.iter() {
            if port == from {
                continue;
            }
            if mode == FloodMode::Tree {
                let Some(ann) = &peer.announcement else {
                    continue;
                };
                if ours.distance(ann.peer_coords()) != 1 {
                    continue;
                }
            }
            let order = peer.announcement.as_ref().map_or(u64::MAX, |a| a.order);
            let rank = (peer.info.peer_type as u8, order, port);
            chosen
                .entry(peer.info.key)
                .and_modify(|best| {
                    if rank < best.0 {
                        *best = (rank, port);
                    }
                })
                .or_insert((rank, port));
        }
        let mut ports: Vec<Port> = chosen.values().map(|(_, port)| *port).collect();
        ports.sort_unstable();
        for port in ports {
            self.queue(port, frame.to_vec(), now);
        }
    }

    /// Number of source keys remembered for broadcast dedupe.
    pub fn seen_broadcasts(&self) -> usize {
        self.broadcasts.seen_count()
    }
}
