//! Counts of what the state machine handled, dropped and refused: frames by
//! type, signature checks, tree changes, drops by reason.

use super::table::DropReason;
use crate::wire::FrameType;

/// Frames by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrameCounts {
    /// Keepalives.
    pub keepalive: u64,
    /// Tree announcements.
    pub tree_announcement: u64,
    /// SNEK bootstraps.
    pub bootstrap: u64,
    /// Traffic frames (those the state machine itself handled).
    pub traffic: u64,
    /// Wakeup broadcasts.
    pub wakeup_broadcast: u64,
    /// Frames whose type byte names no type.
    pub unknown: u64,
}

impl FrameCounts {
    /// Counts `frame` by its type byte (a frame too short to have one
    /// counts as unknown).
    pub(crate) fn count(&mut self, frame: &[u8]) {
        let counter = match frame.get(5).copied().and_then(FrameType::from_byte) {
            Some(FrameType::Keepalive) => &mut self.keepalive,
            Some(FrameType::TreeAnnouncement) => &mut self.tree_announcement,
            Some(FrameType::Bootstrap) => &mut self.bootstrap,
            Some(FrameType::Traffic) => &mut self.traffic,
            Some(FrameType::WakeupBroadcast) => &mut self.wakeup_broadcast,
            None => &mut self.unknown,
        };
        *counter += 1;
    }

    /// Each type's name (`snake_case`, as serialised) with its count.
    pub fn by_type(&self) -> [(&'static str, u64); 6] {
        [
            ("keepalive", self.keepalive),
            ("tree_announcement", self.tree_announcement),
            ("bootstrap", self.bootstrap),
            ("traffic", self.traffic),
            ("wakeup_broadcast", self.wakeup_broadcast),
            ("unknown", self.unknown),
        ]
    }
}

/// Signatures checked and found bad, by what carried them. A check a
/// memo of payloads already verified answers counts as a check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SignatureCounts {
    /// Tree announcement entries checked (entries shared with an
    /// announcement already verified are not checked again).
    pub announcement_checks: u64,
    /// Tree announcements with a bad signature.
    pub announcement_failures: u64,
    /// Bootstrap payloads checked.
    pub bootstrap_checks: u64,
    /// Bootstraps with a bad signature.
    pub bootstrap_failures: u64,
    /// Wakeup broadcast payloads checked (a copy of the broadcast last
    /// accepted from its source is not checked again).
    pub broadcast_checks: u64,
    /// Wakeup broadcasts with a bad signature.
    pub broadcast_failures: u64,
}

impl SignatureCounts {
    /// Checks and failures by kind (`announcement`, `bootstrap`,
    /// `broadcast`).
    pub fn by_kind(&self) -> [(&'static str, u64, u64); 3] {
        [
            (
                "announcement",
                self.announcement_checks,
                self.announcement_failures,
            ),
            ("bootstrap", self.bootstrap_checks, self.bootstrap_failures),
            ("broadcast", self.broadcast_checks, self.broadcast_failures),
        ]
    }
}

/// Counts of what the state machine handled, dropped or refused, since it
/// started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Frames received, by type, malformed ones included.
    pub frames_received: FrameCounts,
    /// Frames queued to send, by type.
    pub frames_sent: FrameCounts,
    /// Signatures checked and failed.
    pub signatures: SignatureCounts,
    /// Times the root key followed changed.
    pub root_changes: u64,
    /// Times the parent changed (becoming a root included).
    pub parent_changes: u64,
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

impl FrameCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &FrameCounts) {
        self.keepalive += other.keepalive;
        self.tree_announcement += other.tree_announcement;
        self.bootstrap += other.bootstrap;
        self.traffic += other.traffic;
        self.wakeup_broadcast += other.wakeup_broadcast;
        self.unknown += other.unknown;
    }
}

impl SignatureCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &SignatureCounts) {
        self.announcement_checks += other.announcement_checks;
        self.announcement_failures += other.announcement_failures;
        self.bootstrap_checks += other.bootstrap_checks;
        self.bootstrap_failures += other.bootstrap_failures;
        self.broadcast_checks += other.broadcast_checks;
        self.broadcast_failures += other.broadcast_failures;
    }
}

impl Counters {
    /// Adds `other`'s counts to these (to total several routers).
    pub fn add(&mut self, other: &Counters) {
        self.frames_received.add(&other.frames_received);
        self.frames_sent.add(&other.frames_sent);
        self.signatures.add(&other.signatures);
        self.root_changes += other.root_changes;
        self.parent_changes += other.parent_changes;
        self.unknown_frames += other.unknown_frames;
        self.unroutable += other.unroutable;
        self.loops += other.loops;
        self.watermark_drops += other.watermark_drops;
        self.hop_limit_drops += other.hop_limit_drops;
        self.oversized += other.oversized;
        self.bootstraps_dropped += other.bootstraps_dropped;
        self.bootstraps_rerouted += other.bootstraps_rerouted;
        self.paths_refused += other.paths_refused;
        self.announcements_repeated += other.announcements_repeated;
        self.broadcasts_dropped += other.broadcasts_dropped;
        self.events_dropped += other.events_dropped;
        self.deliveries_dropped += other.deliveries_dropped;
    }

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
