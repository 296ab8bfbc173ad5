//! Wakeup broadcasts: a few-hop flood that lets nearby nodes learn of a
//! node, with dedupe, a hop limit, and classic then tree flooding.
//!
//! A flood reaches a node once over each of its links, so most copies are
//! repeats. The dedupe entry of each source keeps the signed payload of the
//! broadcast last accepted from it, exactly as verified; a copy whose
//! payload is byte-for-byte the same is known to verify and is not checked
//! again (it is then dropped as a repeat, as every copy with a sequence
//! already seen is). Any other copy, even one with the same sequence, is
//! checked, and a bad signature closes the peering. The payload is shared
//! (one allocation per broadcast, however many routers in the process
//! keep it), so an entry takes about 160 bytes with the tree maps' slack:
//! about 2.6 MB at the default cap of 16,384 sources, plus about 150 bytes
//! per distinct payload kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::RouterConfig;
use super::error::{BroadcastError, PeerError};
use super::events::Event;
use super::peers::{Port, LOCAL_PORT};
use super::recency::RecencyMap;
use super::signed_payloads::{self, VerifiedPayload};
use super::time::{Millis, BROADCAST_EXPIRY, BROADCAST_FILTER, BROADCAST_INTERVAL};
use super::Router;
use crate::wire::{BroadcastFrame, BroadcastRepr, PublicKey, RootPayload, RootPayloadRepr};

/// Hop limit of a broadcast we originate, and the most a received one is
/// taken to have: a higher hop limit is treated as this one.
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

/// The broadcast last accepted from a source.
#[derive(Debug, Clone)]
struct SeenBroadcast {
    sequence: u64,
    /// Its payload, as verified.
    payload: Arc<VerifiedPayload>,
}

/// Broadcast dedupe and timing.
#[derive(Debug)]
pub(crate) struct BroadcastState {
    /// The last accepted broadcast per source key, stamped with when it was
    /// accepted.
    seen: RecencyMap<SeenBroadcast>,
    /// When our next periodic broadcast goes out; `None` when disabled.
    pub(crate) next_send: Option<Millis>,
}

impl BroadcastState {
    pub(crate) fn new(config: &RouterConfig, now: Millis) -> BroadcastState {
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
        let seen = self.broadcasts.seen.get(&source);
        let verified = match seen.map(|(last, _)| &last.payload) {
            Some(last) if last.is(&signed) => Arc::clone(last),
            _ => {
                let signatures = &mut self.counters.signatures;
                signatures.broadcast_checks += 1;
                let checked = signed_payloads::check(&source, &signed);
                if checked.is_none() {
                    signatures.broadcast_failures += 1;
                }
                checked.ok_or(BroadcastError::BadSignature)?
            }
        };
        if signed.root() != self.current_root().key || source == self.public_key {
            self.counters.broadcasts_dropped += 1;
            return Ok(());
        }
        if let Some((last, accepted_at)) = self.broadcasts.seen.get(&source) {
            let too_fast = !now.has_elapsed(accepted_at, BROADCAST_FILTER);
            if too_fast || signed.sequence() <= last.sequence {
                self.counters.broadcasts_dropped += 1;
                return Ok(());
            }
        }
        let seen = SeenBroadcast {
            sequence: signed.sequence(),
            payload: verified,
        };
        self.broadcasts.seen.insert(source, seen, now);
        self.out.event(Event::BroadcastReceived {
            key: source,
            at: now,
        });

        // No honest node sends a broadcast further than our own reach; a
        // higher hop limit counts as ours, so one frame cannot flood the
        // network for 254 hops.
        let hop_limit = frame.hop_limit().min(BROADCAST_HOP_LIMIT);
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

    /// Received wakeup broadcasts whose signature was checked so far. A
    /// copy byte-identical to the broadcast last accepted from its source is
    /// known good and not checked again, so on a meshed network this is far
    /// below the number of broadcast frames received.
    pub fn broadcast_signature_checks(&self) -> u64 {
        self.counters.signatures.broadcast_checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Event, PeerError, PeerInfo, PeerType, RemovalReason, RouterConfig};
    use ed25519_dalek::SigningKey;

    const NOW: Millis = Millis(1_700_000_000_000);

    fn signer(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn peer(key: &SigningKey) -> PeerInfo {
        PeerInfo {
            key: PublicKey::of(key),
            peer_type: PeerType::Remote,
            zone: String::new(),
            uri: String::new(),
        }
    }

    /// A broadcast frame from `source` carrying `payload`.
    fn frame(source: &SigningKey, hop_limit: u8, payload: &[u8]) -> Vec<u8> {
        let repr = BroadcastRepr {
            hop_limit,
            source_key: PublicKey::of(source),
            payload,
        };
        let mut out = vec![0; repr.encoded_len()];
        repr.emit(&mut out).unwrap();
        out
    }

    /// A payload signed by `signer` naming `router`'s root.
    fn signed_payload(signer: &SigningKey, sequence: u64, router: &Router) -> Vec<u8> {
        let (root, root_seq) = router.root();
        let repr = RootPayloadRepr {
            sequence,
            root,
            root_seq,
        };
        let mut out = vec![0; repr.encoded_len()];
        repr.emit_signed(signer, &mut out).unwrap();
        out
    }

    /// A root router with peers on three ports (keys 2, 3 and 4) and a
    /// source (key 9) whose broadcasts they relay.
    fn router() -> (Router, [Port; 3], SigningKey) {
        let config = RouterConfig {
            keepalives: false,
            ..RouterConfig::default()
        };
        let mut router = Router::new(signer(1), config, NOW);
        let ports = [2, 3, 4].map(|seed| router.add_peer(peer(&signer(seed)), NOW));
        while router.poll_transmit().is_some() {}
        while router.poll_event().is_some() {}
        (router, ports, signer(9))
    }

    #[test]
    fn an_identical_copy_is_dropped_as_a_repeat_without_verifying_it() {
        let (mut router, [a, b, c], source) = router();
        let payload = signed_payload(&source, 1_000, &router);
        router
            .handle_frame(a, &frame(&source, 5, &payload), NOW)
            .unwrap();
        assert_eq!(router.broadcast_signature_checks(), 1);
        assert!(matches!(
            router.poll_event(),
            Some(Event::BroadcastReceived { .. })
        ));
        // The same payload over two other links, one with another hop limit.
        router
            .handle_frame(b, &frame(&source, 5, &payload), NOW)
            .unwrap();
        router
            .handle_frame(c, &frame(&source, 3, &payload), NOW)
            .unwrap();
        assert_eq!(router.broadcast_signature_checks(), 1);
        assert_eq!(router.counters().broadcasts_dropped, 2);
        assert!(router.poll_event().is_none());
        // A newer broadcast is verified and accepted once the filter time
        // has passed.
        let later = NOW.saturating_add(BROADCAST_FILTER);
        let newer = signed_payload(&source, 2_000, &router);
        router
            .handle_frame(b, &frame(&source, 5, &newer), later)
            .unwrap();
        assert_eq!(router.broadcast_signature_checks(), 2);
        assert!(matches!(
            router.poll_event(),
            Some(Event::BroadcastReceived { .. })
        ));
        // The older payload is no longer the one kept: verified again, then
        // dropped as a repeat.
        router
            .handle_frame(c, &frame(&source, 5, &payload), later)
            .unwrap();
        assert_eq!(router.broadcast_signature_checks(), 3);
        assert_eq!(router.counters().broadcasts_dropped, 3);
    }

    #[test]
    fn a_same_sequence_copy_with_other_bytes_and_a_bad_signature_closes_the_peering() {
        let (mut router, [a, b, c], source) = router();
        let payload = signed_payload(&source, 1_000, &router);
        router
            .handle_frame(a, &frame(&source, 5, &payload), NOW)
            .unwrap();
        // Same source and sequence, one signature bit flipped.
        let mut forged = payload.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            router.handle_frame(b, &frame(&source, 5, &forged), NOW),
            Err(PeerError::BadBroadcast(BroadcastError::BadSignature))
        );
        assert_eq!(router.broadcast_signature_checks(), 2);
        let removed: Vec<Event> = std::iter::from_fn(|| router.poll_event()).collect();
        assert!(removed.iter().any(|event| matches!(
            event,
            Event::PeerRemoved {
                port,
                reason: RemovalReason::Error(PeerError::BadBroadcast(BroadcastError::BadSignature)),
                ..
            } if *port == b
        )));
        let ports: Vec<Port> = router.peers().iter().map(|p| p.port).collect();
        assert_eq!(ports, vec![a, c]);
        // The good payload is still known: its copies are still not verified.
        router
            .handle_frame(c, &frame(&source, 5, &payload), NOW)
            .unwrap();
        assert_eq!(router.broadcast_signature_checks(), 2);
    }

    #[test]
    fn a_copy_signed_over_another_root_is_verified_and_dropped() {
        let (mut router, [a, b, _], source) = router();
        let payload = signed_payload(&source, 1_000, &router);
        router
            .handle_frame(a, &frame(&source, 5, &payload), NOW)
            .unwrap();
        // Same sequence and a valid signature, over another root.
        let repr = RootPayloadRepr {
            sequence: 1_000,
            root: PublicKey([0xee; 32]),
            root_seq: 0,
        };
        let mut other = vec![0; repr.encoded_len()];
        repr.emit_signed(&source, &mut other).unwrap();
        router
            .handle_frame(b, &frame(&source, 5, &other), NOW)
            .unwrap();
        assert_eq!(router.broadcast_signature_checks(), 2);
        assert_eq!(router.counters().broadcasts_dropped, 1);
    }
}
