//! Re-routing bootstraps that already passed through this node.
//!
//! A bootstrap goes, hop by hop, toward the lowest key above its sender that
//! each node knows. When a node learns a new key `K` (a bootstrap from `K`
//! sets up a path here) and some earlier bootstrap from `D < K` went from
//! here toward a key above `K`, or ended here although `K` lies between `D`
//! and us, then that bootstrap would now go toward `K`. The reference waits
//! for `D`'s next bootstrap (up to 5 s) for that; every correction of the
//! SNEK line costs such a round, and on graphs of a few hundred nodes the
//! line needs ten or more of them. Instead, the node sends `D`'s latest
//! bootstrap on again, unchanged apart from its watermark, toward `K` now.
//!
//! It does so within a second of the bootstrap's arrival, or until `D`'s
//! next one is due when the bootstrap ended here or at the peer we sent it
//! to. The long window matters where two stretches of the line interleave,
//! for example the leaves of a hub, which only the hub knows, against the
//! rest of the network: once the two meet at one point, every correction
//! re-routes the bootstrap that the next correction needs, and the
//! interleaving closes at once instead of at one sender's next bootstrap
//! per node pair. A bootstrap that went on further is kept to the short
//! window, as a closer key there may only mean another way to the same end,
//! and re-routing those for longer keeps moving paths on a settled line.
//!
//! Why this is safe:
//! * The frame is `D`'s own signed bootstrap, so every node (ours or the
//!   reference's) handles it as any other bootstrap from `D`. Only a
//!   bootstrap this node accepted, and so verified, is kept: a badly signed
//!   one closes its sender's peering instead, so the payload sent on again
//!   always verifies and a neighbour never has reason to drop us for it.
//! * A node accepts a bootstrap only with a sequence higher than the one
//!   its path entry for `D` has, so each node accepts `D`'s bootstrap of a
//!   given sequence once: a re-sent copy stops at the first node that
//!   already has it and can never loop.
//! * Here it is sent on only when its target key strictly decreases, so at
//!   most once per key between `D` and us, and never back where it came
//!   from nor with a worse watermark than it arrived with.
//! * The path it sets up points back here, and our entry for `D` points back
//!   toward `D`: traffic following it reaches `D` like any other.

use std::collections::BTreeMap;

use super::table::{NextHop, PathEntry};
use super::time::{Millis, REROUTE_WINDOW, REROUTE_WINDOW_AT_END};
use super::Router;
use crate::wire::{BootstrapFrame, BootstrapRepr, PublicKey, Watermark};

/// A bootstrap that this node forwarded or that ended here.
#[derive(Debug, Clone)]
struct Relayed {
    /// Its hop limit byte as it arrived.
    hop_limit: u8,
    /// Its signed payload.
    payload: Vec<u8>,
    /// Its sequence, to check it is still the one our path entry holds.
    seq: u64,
    /// The watermark it arrived with.
    arrived: Watermark,
    /// The key it went toward from here (our own key when it ended here).
    target: PublicKey,
}

/// The latest bootstrap from each key with a path entry here, kept for
/// re-routing. Entries go with their path entries, so the path cap bounds
/// it.
#[derive(Debug, Default)]
pub(crate) struct RelayStore {
    by_key: BTreeMap<PublicKey, Relayed>,
}

impl RelayStore {
    /// Forgets the bootstrap from `key`.
    pub(crate) fn forget(&mut self, key: &PublicKey) {
        self.by_key.remove(key);
    }

    /// The keys below `key` whose bootstrap went toward a key above it.
    fn passed_over(&self, key: &PublicKey) -> Vec<PublicKey> {
        self.by_key
            .range(..*key)
            .filter(|(_, relayed)| relayed.target > *key)
            .map(|(sender, _)| *sender)
            .collect()
    }
}

impl Router {
    /// Remembers `frame`, a bootstrap with sequence `seq` that went toward
    /// `target` from here.
    pub(super) fn remember_bootstrap(
        &mut self,
        frame: &BootstrapFrame<'_>,
        seq: u64,
        target: PublicKey,
    ) {
        let relayed = Relayed {
            hop_limit: frame.to_repr().hop_limit,
            payload: frame.payload().to_vec(),
            seq,
            arrived: frame.watermark(),
            target,
        };
        self.relays.by_key.insert(frame.dest_key(), relayed);
    }

    /// `key` just became known here: sends on again every kept bootstrap
    /// from a key below it that went toward a key above it (or ended here
    /// above it) and would now go closer.
    pub(super) fn reroute_past(&mut self, key: &PublicKey, now: Millis) {
        for sender in self.relays.passed_over(key) {
            self.reroute(sender, now);
        }
    }

    /// Whether a kept bootstrap ended here or went to the very peer whose
    /// key it was heading for (and so ended there). A closer key learned
    /// then means the end node's descending node is wrong, which only
    /// happens while the line settles; a closer key learned about a
    /// bootstrap that went on further may only mean another way to the
    /// same end.
    fn went_to_its_end(&self, entry: &PathEntry, relayed: &Relayed) -> bool {
        match entry.destination {
            NextHop::Local => true,
            NextHop::Port(port) => self
                .peers
                .get(port)
                .is_some_and(|peer| peer.info.key == relayed.target),
        }
    }

    /// Sends `sender`'s kept bootstrap on again if its route from here
    /// now leads to a lower key than it went toward.
    fn reroute(&mut self, sender: PublicKey, now: Millis) {
        self.refresh_table();
        let root = self.current_root();
        let Some(entry) = self.table.paths().get(&sender).copied() else {
            return;
        };
        let Some(relayed) = self.relays.by_key.get(&sender) else {
            return;
        };
        let window = if self.went_to_its_end(&entry, relayed) {
            REROUTE_WINDOW_AT_END
        } else {
            REROUTE_WINDOW
        };
        let fresh = !now.has_elapsed(entry.last_seen, window);
        if entry.seq != relayed.seq || entry.root != root || !fresh {
            return;
        }
        let route = self
            .table
            .current()
            .bootstrap_next_hop(&sender, relayed.arrived, now);
        let NextHop::Port(port) = route.next else {
            return;
        };
        if route.watermark.key >= relayed.target
            || port == entry.source
            || route.watermark.is_worse_than(&relayed.arrived)
        {
            return;
        }
        let repr = BootstrapRepr {
            hop_limit: relayed.hop_limit,
            dest_key: sender,
            watermark: route.watermark,
            payload: &relayed.payload,
        };
        let mut out = vec![0; repr.encoded_len()];
        if repr.emit(&mut out).is_err() {
            return;
        }
        if let Some(relayed) = self.relays.by_key.get_mut(&sender) {
            relayed.target = route.watermark.key;
        }
        self.table.paths_mut().upsert(PathEntry {
            destination: NextHop::Port(port),
            ..entry
        });
        self.counters.bootstraps_rerouted += 1;
        self.queue(port, out, now);
    }
}
