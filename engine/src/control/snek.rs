//! SNEK: bootstraps, path entries, the descending node and maintenance.

use super::error::{BootstrapError, PeerError};
use super::events::Event;
use super::peers::Port;
use super::table::{NextHop, PathEntry, SnekRoute};
use super::time::{Millis, BOOTSTRAP_INTERVAL, SNEK_TICK};
use super::Router;
use crate::wire::{
    BootstrapFrame, BootstrapRepr, PublicKey, RootPayload, RootPayloadRepr, Watermark,
};

/// What an accepted bootstrap did here.
struct Accepted {
    /// Its sequence.
    seq: u64,
    /// Its key had no path entry here before.
    new_key: bool,
}

/// The router's SNEK state (path entries live in the routing table).
#[derive(Debug)]
pub(crate) struct SnekState {
    /// The node with the next key down, as its last bootstrap set it up.
    pub(crate) descending: Option<PathEntry>,
    /// A bootstrap is sent at the first maintenance tick at or after this.
    next_bootstrap: Millis,
    /// When maintenance next runs.
    pub(crate) next_tick: Millis,
    /// The first hop and target key of our last bootstrap.
    last_route: Option<(Port, PublicKey)>,
}

impl SnekState {
    pub(crate) fn new(now: Millis) -> SnekState {
        SnekState {
            descending: None,
            next_bootstrap: now,
            next_tick: now,
            last_route: None,
        }
    }
}

impl Router {
    /// Makes the next maintenance tick send a bootstrap.
    pub(super) fn bootstrap_soon(&mut self, now: Millis) {
        self.snek.next_bootstrap = self.snek.next_bootstrap.min(now);
    }

    /// SNEK maintenance, every second: drop a stale descending node and
    /// expired paths, bootstrap when due, sweep the coordinates cache.
    pub(super) fn snek_tick(&mut self, now: Millis) {
        self.snek.next_tick = now.saturating_add(SNEK_TICK);
        let root = self.current_root();
        if self
            .snek
            .descending
            .is_some_and(|d| !d.is_live(now) || d.root != root)
        {
            self.set_descending(None, now);
        }
        if self.table.paths().iter().any(|e| e.is_gone(now)) {
            let removed = self.table.paths_mut().remove_where(|e| e.is_gone(now));
            self.path_removed_events(removed);
        }
        if now >= self.snek.next_bootstrap || self.own_route_changed(now) {
            self.bootstrap_now(now);
        }
        self.coords_cache.expire(now);
    }

    /// The port and watermark our own bootstrap would leave with now, if
    /// any.
    fn own_bootstrap_route(&mut self, now: Millis) -> Option<(Port, Watermark)> {
        self.refresh_table();
        let route =
            self.table
                .current()
                .bootstrap_next_hop(&self.public_key, Watermark::FRESH, now);
        match route.next {
            NextHop::Port(port) => Some((port, route.watermark)),
            NextHop::Local => None,
        }
    }

    /// Whether our own bootstrap would now leave by another port or head
    /// for another key than the last one did.
    fn own_route_changed(&mut self, now: Millis) -> bool {
        if self.tree.parent.is_none() {
            return false;
        }
        self.own_bootstrap_route(now)
            .is_some_and(|(port, watermark)| self.snek.last_route != Some((port, watermark.key)))
    }

    /// Sends a bootstrap toward the next key up, if we have a parent.
    fn bootstrap_now(&mut self, now: Millis) {
        if self.tree.parent.is_none() {
            return;
        }
        self.snek.next_bootstrap = now.saturating_add(BOOTSTRAP_INTERVAL);
        let root = self.current_root();
        let signed = RootPayloadRepr {
            sequence: now.0,
            root: root.key,
            root_seq: root.seq,
        };
        let mut payload = vec![0; signed.encoded_len()];
        if signed.emit_signed(&self.signing_key, &mut payload).is_err() {
            return;
        }
        let Some((port, watermark)) = self.own_bootstrap_route(now) else {
            return;
        };
        self.snek.last_route = Some((port, watermark.key));
        let repr = BootstrapRepr {
            hop_limit: 0,
            dest_key: self.public_key,
            watermark,
            payload: &payload,
        };
        let mut frame = vec![0; repr.encoded_len()];
        if repr.emit(&mut frame).is_ok() {
            self.queue(port, frame, now);
        }
    }

    /// A bootstrap received on `from`: set up its path here, then forward
    /// it unless it ends here. When it brings a key new here, bootstraps
    /// that passed over that key are sent on again toward it (see
    /// `reroute`).
    ///
    /// A bootstrap that fails a cheap check (another root, not newer than
    /// the path entry, no room for a new key) is dropped and counted. One
    /// whose payload is malformed or whose signature does not verify is an
    /// error: every node verifies a bootstrap before forwarding it, so the
    /// direct peer is broken or hostile.
    pub(super) fn handle_bootstrap(
        &mut self,
        from: Port,
        frame: &BootstrapFrame<'_>,
        now: Millis,
    ) -> Result<(), PeerError> {
        let dest = frame.dest_key();
        let watermark = frame.watermark();
        self.refresh_table();
        let route = self
            .table
            .current()
            .bootstrap_next_hop(&dest, watermark, now);
        let Some(accepted) =
            self.accept_bootstrap(from, route.next, &dest, frame.payload(), now)?
        else {
            self.counters.bootstraps_dropped += 1;
            return Ok(());
        };
        self.forward_bootstrap(from, frame, route, accepted.seq, now);
        if accepted.new_key {
            self.reroute_past(&dest, now);
        }
        Ok(())
    }

    /// Sends an accepted bootstrap on along `route`, remembering it for
    /// re-routing when it went on or ended here.
    fn forward_bootstrap(
        &mut self,
        from: Port,
        frame: &BootstrapFrame<'_>,
        route: SnekRoute,
        seq: u64,
        now: Millis,
    ) {
        let dest = frame.dest_key();
        let port = match route.next {
            NextHop::Local => {
                self.remember_bootstrap(frame, seq, self.public_key);
                return;
            }
            NextHop::Port(port) => port,
        };
        self.relays.forget(&dest);
        if port == from {
            self.counters.loops += 1;
            return;
        }
        if route.watermark.is_worse_than(&frame.watermark()) {
            self.counters.watermark_drops += 1;
            return;
        }
        let repr = BootstrapRepr {
            watermark: route.watermark,
            ..frame.to_repr()
        };
        let mut out = vec![0; repr.encoded_len()];
        match repr.emit(&mut out) {
            Ok(_) => {
                self.remember_bootstrap(frame, seq, route.watermark.key);
                self.queue(port, out, now);
            }
            Err(_) => self.counters.oversized += 1,
        }
    }

    /// Checks a bootstrap and stores its path entry (and maybe makes it our
    /// descending node). Returns `None` when a cheap check dropped it; the
    /// cheap checks go before the signature, so a flood of stale or foreign
    /// bootstraps costs no signature checks.
    fn accept_bootstrap(
        &mut self,
        from: Port,
        next: NextHop,
        dest: &PublicKey,
        payload: &[u8],
        now: Millis,
    ) -> Result<Option<Accepted>, BootstrapError> {
        let signed = RootPayload::parse(payload)?;
        let root = self.current_root();
        if signed.root() != root.key || signed.root_seq() != root.seq {
            return Ok(None);
        }
        let existing = self.table.paths().get(dest).copied();
        match existing {
            Some(e) if e.root == root && signed.sequence() <= e.seq => return Ok(None),
            None if self.table.paths().len() >= self.config.max_paths => {
                self.counters.paths_refused += 1;
                return Ok(None);
            }
            _ => {}
        }
        self.counters.signatures.bootstrap_checks += 1;
        if super::signed_payloads::check(dest, &signed).is_none() {
            self.counters.signatures.bootstrap_failures += 1;
            return Err(BootstrapError::BadSignature);
        }
        let entry = PathEntry {
            key: *dest,
            source: from,
            destination: next,
            seq: signed.sequence(),
            root,
            last_seen: now,
        };
        self.table.paths_mut().upsert(entry);
        if existing.is_none_or(|e| e.source != from) {
            self.out.event(Event::PathAdded {
                key: *dest,
                source: from,
            });
        }
        if *dest < self.public_key {
            let update = match self.snek.descending {
                Some(d) if d.is_live(now) => d.key <= *dest,
                _ => true,
            };
            if update {
                self.set_descending(Some(entry), now);
            }
        }
        Ok(Some(Accepted {
            seq: signed.sequence(),
            new_key: existing.is_none(),
        }))
    }

    /// Replaces the descending node; a new or vanished one makes a
    /// bootstrap due.
    pub(super) fn set_descending(&mut self, node: Option<PathEntry>, now: Millis) {
        let old = self.snek.descending.map(|d| d.key);
        let new = node.map(|d| d.key);
        if old.is_none() || new.is_none() || old != new {
            self.bootstrap_soon(now);
        }
        self.snek.descending = node;
        if old != new {
            self.out.event(Event::DescendingChanged { key: new });
        }
    }

    /// Removes every path entry that came from or went to `port`.
    pub(super) fn remove_paths_through(&mut self, port: Port) {
        let through = |e: &PathEntry| e.source == port || e.destination == NextHop::Port(port);
        if self.table.paths().iter().any(through) {
            let removed = self.table.paths_mut().remove_where(through);
            self.path_removed_events(removed);
        }
    }

    /// Removes every path entry.
    pub(super) fn clear_paths(&mut self) {
        if self.table.paths().len() > 0 {
            let removed = self.table.paths_mut().remove_where(|_| true);
            self.path_removed_events(removed);
        }
    }

    fn path_removed_events(&mut self, removed: Vec<PublicKey>) {
        for key in removed {
            self.relays.forget(&key);
            self.out.event(Event::PathRemoved { key });
        }
    }
}
