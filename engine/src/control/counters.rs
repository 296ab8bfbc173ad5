//! Counts of frames and items the state machine dropped, by reason.

use super::table::DropReason;

/// Counts of what the state machine dropped or refused, since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Frames of an unknown type, version or extra byte.
    pub unknown_frames: u64,
    /// Traffic for a key no closer node is known for.
    pub unroutable: u64,
    /// Traffic or bootstraps whose next hop was the port they came from.
    pub loops: u64,
    /// Traffic or bootstraps whose watermark would have got worse.
    pub watermark_drops: u64,
    /// Traffic that reached its hop limit.
    pub hop_limit_drops: u64,
    /// Frames that would have exceeded the frame size limit once rewritten.
    pub oversized: u64,
    /// Bootstraps dropped: on another root, not newer than the path entry,
    /// or refused at the path cap. (A malformed or badly signed one closes
    /// the peering instead.)
    pub bootstraps_dropped: u64,
    /// Bootstraps sent on again because a closer key became known after
    /// they passed through.
    pub bootstraps_rerouted: u64,
    /// Bootstraps for new keys refused because the path table was full.
    pub paths_refused: u64,
    /// Tree announcements byte-for-byte the same as the one already kept
    /// for their peering: nothing in them is news, so they are not checked
    /// or acted on again.
    pub announcements_repeated: u64,
    /// Wakeup broadcasts dropped: another root, a repeat, or our own.
    pub broadcasts_dropped: u64,
    /// Events discarded because nobody polled them.
    pub events_dropped: u64,
    /// Datagrams for the application discarded because nobody polled them.
    pub deliveries_dropped: u64,
}

impl Counters {
    /// Counts a routing drop.
    pub(crate) fn record(&mut self, reason: DropReason) {
        let counter = match reason {
            DropReason::Unroutable => &mut self.unroutable,
            DropReason::Loop => &mut self.loops,
            DropReason::Watermark => &mut self.watermark_drops,
            DropReason::HopLimit => &mut self.hop_limit_drops,
            DropReason::TooLarge => &mut self.oversized,
        };
        *counter += 1;
    }
}
