//! The spanning tree: announcements, parent selection, becoming root.

use super::announcement::{check_announcement, Root, StoredAnnouncement};
use super::decision::{decide, AnnouncementAction, AnnouncementFacts};
use super::error::PeerError;
use super::events::Event;
use super::peers::Port;
use super::table::{LinkInfo, TreeRoutes};
use super::time::{Millis, REPARENT_WAIT, ROOT_ANNOUNCE_INTERVAL};
use super::Router;
use crate::wire::{
    Announcement, AnnouncementError, AnnouncementFrame, AnnouncementRepr, Coords, PublicKey,
};

/// The router's spanning-tree state (the announcements themselves are kept
/// per peer).
#[derive(Debug)]
pub(crate) struct TreeState {
    /// The parent's port; `None` when this node is a root.
    pub(crate) parent: Option<Port>,
    /// Our own root sequence, moved on each time we (re)announce as root.
    pub(crate) sequence: u64,
    /// Counter giving each stored announcement its receive order.
    pub(crate) ordering: u64,
    /// While set, decisions wait (announcements are still stored) until
    /// then, after which a parent is selected.
    pub(crate) reparent_at: Option<Millis>,
    /// When tree maintenance (root re-announcement) next runs.
    pub(crate) next_maintenance: Millis,
    /// The root key and our coordinates when last checked, to clear the
    /// coordinates cache when either changes.
    last_position: Option<(PublicKey, Coords)>,
}

impl TreeState {
    pub(crate) fn new(now: Millis) -> TreeState {
        TreeState {
            parent: None,
            sequence: 0,
            ordering: 0,
            reparent_at: None,
            next_maintenance: now,
            last_position: None,
        }
    }
}

impl Router {
    /// The announcement our root announcement is built from: the parent's.
    pub(super) fn parent_announcement(&self) -> Option<&StoredAnnouncement> {
        self.peers.get(self.tree.parent?)?.announcement.as_ref()
    }

    /// The root we follow.
    pub(super) fn current_root(&self) -> Root {
        match self.parent_announcement() {
            Some(ann) => ann.root,
            None => Root {
                key: self.public_key,
                seq: self.tree.sequence,
            },
        }
    }

    /// Our coordinates: the hops of the parent's announcement.
    pub(super) fn current_coords(&self) -> Coords {
        self.parent_announcement()
            .map(|ann| ann.coords.clone())
            .unwrap_or_default()
    }

    /// Clears the coordinates cache if the root key or our coordinates
    /// changed. The reference clears it on a root change only; but when our
    /// coordinates change, the part of the tree we are in moved, and the
    /// cached coordinates of our neighbourhood moved with it: tree routing
    /// to them would fail for up to a minute.
    fn note_position(&mut self) {
        let position = (self.current_root().key, self.current_coords());
        if self.tree.last_position.as_ref() != Some(&position) {
            if self
                .tree
                .last_position
                .as_ref()
                .is_some_and(|(root, _)| *root != position.0)
            {
                self.counters.root_changes += 1;
            }
            self.tree.last_position = Some(position);
            self.coords_cache.clear();
        }
    }

    /// Our root announcement signed for the peer on `port`, as a frame.
    fn announcement_frame(&self, port: Port) -> Option<Vec<u8>> {
        let payload = match self.parent_announcement() {
            Some(stored) => {
                let ann = Announcement::parse(&stored.payload).ok()?;
                let mut buf = vec![0; ann.appended_len(port)];
                ann.emit_appended(port, &self.signing_key, &mut buf).ok()?;
                buf
            }
            None => {
                let mut repr = AnnouncementRepr::new_root(self.public_key, self.tree.sequence);
                repr.sign_and_append(port, &self.signing_key).ok()?;
                let mut buf = vec![0; repr.encoded_len()];
                repr.emit(&mut buf).ok()?;
                buf
            }
        };
        let mut frame = vec![0; AnnouncementFrame::encoded_len(payload.len())];
        AnnouncementFrame::emit(&payload, &mut frame).ok()?;
        Some(frame)
    }

    /// Sends our root announcement to the peer on `port`.
    pub(super) fn send_announcement(&mut self, port: Port, now: Millis) {
        match self.announcement_frame(port) {
            Some(frame) => self.queue(port, frame, now),
            // The parent's announcement is too long to extend by our entry.
            None => self.counters.oversized += 1,
        }
    }

    /// Sends our root announcement to every peer.
    fn announce_to_all(&mut self, now: Millis) {
        for port in self.peers.ports() {
            self.send_announcement(port, now);
        }
        let root = self.current_root();
        let at = self.parent_announcement().map_or(now, |a| a.received_at);
        let coords = self.current_coords();
        self.out.event(Event::RootAnnouncementChanged {
            root: root.key,
            seq: root.seq,
            coords,
            at,
        });
    }

    /// Handles a tree announcement payload from the peer on `port`.
    pub(super) fn handle_announcement(
        &mut self,
        port: Port,
        payload: &[u8],
        now: Millis,
    ) -> Result<(), PeerError> {
        if self.repeats_kept_announcement(port, payload, now) {
            return Ok(());
        }
        let Some(peer) = self.peers.get(port) else {
            return Err(PeerError::UnknownPort);
        };
        let peer_key = peer.info.key;
        let ann = Announcement::parse(payload).map_err(AnnouncementError::Malformed)?;
        let limit = self.config.max_announcement_entries;
        if ann.len() > limit {
            let entries = ann.len();
            return Err(AnnouncementError::TooManyEntries { entries, limit }.into());
        }
        let previous = peer.announcement.as_ref();
        let mut checked = 0;
        let checks = {
            let mut verified: Vec<&[u8]> = Vec::with_capacity(2);
            verified.extend(previous.map(|p| &*p.payload));
            verified.extend(self.parent_announcement().map(|p| &*p.payload));
            check_announcement(&ann, &peer_key, &verified, &mut checked)
        };
        let signatures = &mut self.counters.signatures;
        signatures.announcement_checks += checked;
        if matches!(checks, Err(AnnouncementError::BadSignature { .. })) {
            signatures.announcement_failures += 1;
        }
        checks?;
        if let Some(previous) = previous {
            if ann.root() == previous.root.key && ann.root_seq() < previous.root.seq {
                return Err(PeerError::Replay);
            }
        }
        let first = previous.is_none();
        let greet = first
            && !self.peers.iter().any(|(other, p)| {
                other != port && p.info.key == peer_key && p.announcement.is_some()
            });

        let ours = self.current_root();
        self.tree.ordering += 1;
        let stored = StoredAnnouncement::new(&ann, now, self.tree.ordering);
        let facts = AnnouncementFacts {
            from_parent: self.tree.parent == Some(port),
            contains_us: stored.has_signer(&self.public_key),
            root_delta: stored.root.key.cmp(&ours.key),
            seq: stored.root.seq,
            our_seq: ours.seq,
        };
        if let Some(peer) = self.peers.get_mut(port) {
            peer.announcement = Some(stored);
        }
        self.table.mark_tree_dirty();
        self.note_position();

        if self.tree.reparent_at.is_none() {
            self.act_on_announcement(port, decide(facts), first, now);
        }
        if greet {
            self.greet_with_broadcast(port, now);
        }
        Ok(())
    }

    /// Whether `payload` is byte-for-byte the announcement kept for the
    /// peer on `port`, checked and decided on when it came (or by the parent
    /// selection ending a re-parent wait). Then it only counts as received
    /// again now: checking it, storing it with a new receive order,
    /// rebuilding the routing table and deciding again would change nothing
    /// but cost, per repeat, a parent selection, a signature of ours sent
    /// back, or (from the parent) a re-parent announced to every peer. A kept
    /// announcement that expired is not matched, so that a repeat brings it
    /// back as a new one would.
    fn repeats_kept_announcement(&mut self, port: Port, payload: &[u8], now: Millis) -> bool {
        let kept = self
            .peers
            .get_mut(port)
            .and_then(|peer| peer.announcement.as_mut())
            .filter(|kept| *kept.payload == *payload && !kept.is_expired(now));
        let Some(kept) = kept else {
            return false;
        };
        kept.received_at = now;
        self.counters.announcements_repeated += 1;
        true
    }

    fn act_on_announcement(
        &mut self,
        port: Port,
        action: AnnouncementAction,
        first: bool,
        now: Millis,
    ) {
        match action {
            AnnouncementAction::Drop => {}
            AnnouncementAction::AcceptUpdate => self.announce_to_all(now),
            AnnouncementAction::AcceptNewParent => {
                self.set_parent(Some(port));
                self.announce_to_all(now);
            }
            AnnouncementAction::SelectNewParent => {
                if self.select_new_parent(now) {
                    self.bootstrap_soon(now);
                }
            }
            AnnouncementAction::SelectNewParentWithWait => {
                self.tree.reparent_at = Some(now.saturating_add(REPARENT_WAIT));
                self.become_root(now);
            }
            AnnouncementAction::InformPeerOfStrongerRoot => {
                // A first announcement already crossed ours on the wire.
                if !first {
                    self.send_announcement(port, now);
                }
            }
        }
    }

    /// Ends the re-parent wait and selects a parent.
    pub(super) fn end_reparent_wait(&mut self, now: Millis) {
        self.tree.reparent_at = None;
        if self.select_new_parent(now) {
            self.bootstrap_soon(now);
        }
    }

    /// Changes the parent, emitting an event if it changed.
    pub(super) fn set_parent(&mut self, parent: Option<Port>) {
        if self.tree.parent == parent {
            return;
        }
        self.tree.parent = parent;
        self.counters.parent_changes += 1;
        self.table.mark_tree_dirty();
        self.note_position();
        let parent = parent.and_then(|port| Some((port, self.peers.get(port)?.info.key)));
        self.out.event(Event::ParentChanged { parent });
    }

    /// Stops following a parent and announces our own tree.
    fn become_root(&mut self, now: Millis) {
        if self.tree.parent.is_none() {
            return;
        }
        self.set_parent(None);
        self.maintain_tree(now);
    }

    /// Root maintenance, every 30 minutes and on becoming root: a root
    /// moves its sequence on and announces to everyone.
    pub(super) fn maintain_tree(&mut self, now: Millis) {
        self.tree.next_maintenance = now.saturating_add(ROOT_ANNOUNCE_INTERVAL);
        if self.tree.parent.is_some() {
            return;
        }
        self.tree.sequence += 1;
        self.table.mark_tree_dirty();
        self.note_position();
        self.announce_to_all(now);
    }

    /// Picks the best parent among peers' announcements. Returns whether
    /// the parent changed to another peer (so a bootstrap is due); becomes
    /// root when nothing beats our own key.
    pub(super) fn select_new_parent(&mut self, now: Millis) -> bool {
        let current = self.current_root();
        let mut best_root = if current.key < self.public_key {
            Root {
                key: self.public_key,
                seq: 0,
            }
        } else {
            current
        };
        let mut best: Option<(Port, u64)> = None;
        for (port, peer) in self.peers.iter() {
            let Some(ann) = &peer.announcement else {
                continue;
            };
            if ann.is_expired(now) || ann.has_signer(&self.public_key) {
                continue;
            }
            let better = match ann.root.key.cmp(&best_root.key) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Equal => {
                    ann.root.seq > best_root.seq
                        || (ann.root.seq == best_root.seq
                            && ann.order < best.map_or(u64::MAX, |(_, order)| order))
                }
            };
            if better {
                best_root = ann.root;
                best = Some((port, ann.order));
            }
        }
        match best {
            Some((port, _)) if self.tree.parent != Some(port) => {
                self.set_parent(Some(port));
                self.announce_to_all(now);
                true
            }
            Some(_) => false,
            None => {
                self.become_root(now);
                false
            }
        }
    }

    /// The tree part of the routing table, from the current state.
    pub(super) fn build_tree_routes(&self) -> TreeRoutes {
        let links: Vec<LinkInfo<'_>> = self
            .peers
            .iter()
            .filter_map(|(port, peer)| {
                let ann = peer.announcement.as_ref()?;
                Some(LinkInfo {
                    port,
                    key: peer.info.key,
                    peer_type: peer.info.peer_type,
                    order: ann.order,
                    root: ann.root,
                    signers: &ann.signers,
                    peer_coords: ann.peer_coords(),
                })
            })
            .collect();
        let parent = self
            .tree
            .parent
            .filter(|_| self.parent_announcement().is_some());
        TreeRoutes::build(
            self.public_key,
            self.current_root(),
            self.current_coords(),
            parent,
            &links,
        )
    }
}
