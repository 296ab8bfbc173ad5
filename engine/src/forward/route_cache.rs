//! A worker's memory of the routing table's answers for SNEK-routed
//! traffic, so that a flow's frames cost one probe instead of a table
//! search each.

use std::sync::Arc;

use crate::control::{Forwarding, Millis, Port, RoutingTable, TrafficAction};
use crate::wire::{PublicKey, TrafficFrame, Watermark};

/// Entries per set: a key maps to one set and may sit in any of its ways.
const WAYS: usize = 2;

/// One remembered answer.
#[derive(Debug, Clone, Copy)]
struct Entry {
    epoch: u64,
    /// The answer holds before this instant.
    until: Millis,
    hop_limit: u8,
    dest: PublicKey,
    watermark: Watermark,
    forwarding: Forwarding,
}

impl Entry {
    /// Whether it answers for these fields in `epoch` at `now`.
    #[inline]
    fn answers(
        &self,
        epoch: u64,
        now: Millis,
        dest: &PublicKey,
        watermark: &Watermark,
        hop_limit: u8,
    ) -> bool {
        self.epoch == epoch
            && now < self.until
            && self.dest == *dest
            && self.watermark == *watermark
            && self.hop_limit == hop_limit
    }
}

/// Answers of [`RoutingTable::route_traffic`] for frames with empty
/// destination coordinates, each valid for one table snapshot until the
/// instant the table gives for it
/// ([`RoutingTable::forwarding_lasts_until`]).
///
/// Such a frame's next hop depends only on its destination key, watermark
/// and hop limit, the table and the time; the port it came from only
/// matters when it is that next hop (the table decides whether going back
/// is a loop). So a cached forwarding to `port` stands for every frame with
/// the same three fields that did not come from `port`; one that did is
/// routed by the table. Only forwardings are cached; drops and deliveries
/// go to the table each time.
///
/// Two-way set associative, the most recently stored entry of a set first.
#[derive(Debug)]
pub(crate) struct RouteCache {
    entries: Box<[Option<Entry>]>,
    /// log2 of the number of sets.
    set_bits: u32,
    /// Entries of another epoch are stale. It never wraps.
    epoch: u64,
    /// The snapshot the current epoch is for. Holding it keeps its address
    /// from being reused by another.
    table: Option<Arc<RoutingTable>>,
    /// The latest instant given to [`begin`](Self::begin): an earlier one
    /// (a clock set back) starts a new epoch, since answers only hold
    /// forward in time.
    now: Millis,
}

impl RouteCache {
    /// An empty cache of `entries` entries (a power of two, at least two).
    pub(crate) fn new(entries: usize) -> RouteCache {
        let sets = (entries / WAYS).max(1);
        RouteCache {
            entries: vec![None; sets * WAYS].into_boxed_slice(),
            set_bits: sets.trailing_zeros(),
            epoch: 0,
            table: None,
            now: Millis(0),
        }
    }

    /// The first entry of the set a frame's fields map to. Every byte of
    /// the key counts: keys that differ only at the end (consecutive keys,
    /// or an attacker's) still spread over the sets.
    #[inline]
    fn set_start(&self, dest: &PublicKey, watermark: &Watermark) -> usize {
        let folded = dest
            .0
            .chunks_exact(8)
            .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()))
            .fold(watermark.seq, |acc, word| acc ^ word);
        let mixed = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let set = mixed.checked_shr(64 - self.set_bits).unwrap_or(0) as usize;
        set * WAYS
    }

    /// Starts a batch routed by `table` at `now`; forgets every answer if
    /// the table changed or the clock went back.
    pub(crate) fn begin(&mut self, table: &Arc<RoutingTable>, now: Millis) {
        let same_table = self.table.as_ref().is_some_and(|t| Arc::ptr_eq(t, table));
        let went_back = now < self.now;
        self.now = now;
        if same_table && !went_back {
            return;
        }
        self.table = Some(Arc::clone(table));
        self.epoch += 1;
    }

    /// The current epoch: one table snapshot, with the clock moving only
    /// forward. An answer made in it holds until the instant that came
    /// with it, or until the epoch changes.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// What to do with `frame`, received on `from`: as
    /// `table.route_traffic(frame, from, now)` answers, for the table given
    /// to [`begin`](Self::begin) and a `now` no earlier than the one given
    /// to it; with a forwarding, the first instant at which it may no
    /// longer hold.
    #[inline]
    pub(crate) fn route(
        &mut self,
        table: &RoutingTable,
        frame: &TrafficFrame<'_>,
        from: Port,
        now: Millis,
    ) -> (TrafficAction, Millis) {
        let Some(watermark) = frame.wire_watermark() else {
            return routed(table, frame, from, now);
        };
        let dest = frame.dest_key();
        let hop_limit = frame.hop_limit();
        let start = self.set_start(&dest, &watermark);
        let epoch = self.epoch;
        let Some(set) = self.entries.get_mut(start..start + WAYS) else {
            return routed(table, frame, from, now);
        };
        let hit = set
            .iter()
            .flatten()
            .find(|e| e.answers(epoch, now, &dest, &watermark, hop_limit));
        if let Some(entry) = hit {
            if entry.forwarding.port != from {
                return (TrafficAction::Forward(entry.forwarding), entry.until);
            }
            return routed(table, frame, from, now);
        }
        let (action, until) = routed(table, frame, from, now);
        if let TrafficAction::Forward(forwarding) = action {
            set.rotate_right(1);
            if let Some(first) = set.first_mut() {
                *first = Some(Entry {
                    epoch,
                    until,
                    hop_limit,
                    dest,
                    watermark,
                    forwarding,
                });
            }
        }
        (action, until)
    }
}

/// The table's answer for `frame`, with the instant a forwarding holds
/// until (the answer's own instant for anything else, which is not kept).
#[inline]
fn routed(
    table: &RoutingTable,
    frame: &TrafficFrame<'_>,
    from: Port,
    now: Millis,
) -> (TrafficAction, Millis) {
    let action = table.route_traffic(frame, from, now);
    let until = match &action {
        TrafficAction::Forward(forwarding) => {
            table.forwarding_lasts_until(forwarding, frame.watermark(), now)
        }
        TrafficAction::Deliver | TrafficAction::Drop(_) => now,
    };
    (action, until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_differ_only_at_the_end_spread_over_the_sets() {
        let cache = RouteCache::new(4_096);
        let sets: std::collections::HashSet<usize> = (0..=255u8)
            .map(|last| {
                let mut key = [0xab; 32];
                key[31] = last;
                cache.set_start(&PublicKey(key), &Watermark::FRESH)
            })
            .collect();
        // 256 keys over 2,048 sets: a good spread leaves few collisions.
        assert!(sets.len() > 200, "{} sets", sets.len());
    }
}
