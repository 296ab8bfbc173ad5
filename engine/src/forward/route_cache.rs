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
    hop_limit: u8,
    dest: PublicKey,
    watermark: Watermark,
    forwarding: Forwarding,
}

impl Entry {
    /// Whether it answers for these fields in `epoch`.
    #[inline]
    fn answers(&self, epoch: u64, dest: &PublicKey, watermark: &Watermark, hop_limit: u8) -> bool {
        self.epoch == epoch
            && self.dest == *dest
            && self.watermark == *watermark
            && self.hop_limit == hop_limit
    }
}

/// Answers of [`RoutingTable::route_traffic`] for frames with empty
/// destination coordinates, valid for one table snapshot at one instant.
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
    /// The snapshot and time the current epoch is for. Holding the
    /// snapshot keeps its address from being reused by another.
    table: Option<Arc<RoutingTable>>,
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

    /// The first entry of the set a frame's fields map to.
    #[inline]
    fn set_start(&self, dest: &PublicKey, watermark: &Watermark) -> usize {
        let mut head = [0u8; 8];
        head.copy_from_slice(&dest.0[..8]);
        let mixed = (u64::from_le_bytes(head) ^ watermark.seq).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let set = mixed.checked_shr(64 - self.set_bits).unwrap_or(0) as usize;
        set * WAYS
    }

    /// Starts a batch routed by `table` at `now`; forgets every answer if
    /// either changed.
    pub(crate) fn begin(&mut self, table: &Arc<RoutingTable>, now: Millis) {
        let same_table = self.table.as_ref().is_some_and(|t| Arc::ptr_eq(t, table));
        if same_table && self.now == now {
            return;
        }
        self.table = Some(Arc::clone(table));
        self.now = now;
        self.epoch += 1;
    }

    /// The current epoch: one table snapshot at one instant. Answers made
    /// in it hold until it changes.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// What to do with `frame`, received on `from`: as
    /// `table.route_traffic(frame, from, now)` answers, for the table and
    /// time given to [`begin`](Self::begin).
    #[inline]
    pub(crate) fn route(
        &mut self,
        table: &RoutingTable,
        frame: &TrafficFrame<'_>,
        from: Port,
        now: Millis,
    ) -> TrafficAction {
        let Some(watermark) = frame.wire_watermark() else {
            return table.route_traffic(frame, from, now);
        };
        let dest = frame.dest_key();
        let hop_limit = frame.hop_limit();
        let start = self.set_start(&dest, &watermark);
        let epoch = self.epoch;
        let Some(set) = self.entries.get_mut(start..start + WAYS) else {
            return table.route_traffic(frame, from, now);
        };
        let hit = set
            .iter()
            .flatten()
            .find(|e| e.answers(epoch, &dest, &watermark, hop_limit));
        if let Some(entry) = hit {
            if entry.forwarding.port != from {
                return TrafficAction::Forward(entry.forwarding);
            }
            return table.route_traffic(frame, from, now);
        }
        let action = table.route_traffic(frame, from, now);
        if let TrafficAction::Forward(forwarding) = action {
            set.rotate_right(1);
            if let Some(first) = set.first_mut() {
                *first = Some(Entry {
                    epoch,
                    hop_limit,
                    dest,
                    watermark,
                    forwarding,
                });
            }
        }
        action
    }
}
