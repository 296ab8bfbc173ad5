//! Per-peering counters, shared with other threads as atomics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};

use super::output::Written;
use crate::control::{DropReason, Millis};

/// Why the forwarding plane dropped a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropCause {
    /// No node closer to the destination key is known.
    Unroutable,
    /// The next hop is the peering the frame came from.
    Loop,
    /// Forwarding would make the frame's SNEK watermark worse.
    Watermark,
    /// The hop limit ran out.
    HopLimit,
    /// The rewritten frame would exceed the frame size limit.
    TooLarge,
    /// The routing table names a port that no worker has attached (yet).
    NoPeering,
    /// The destination peering's traffic lane was full.
    OutputFull,
    /// The queue to the worker owning the destination peering was full (a
    /// frame the local application sent).
    CrossingFull,
    /// The local application's delivery queue was full.
    DeliveryFull,
    /// A frame of unknown type, version or extra byte.
    UnknownFrame,
}

impl DropCause {
    /// Every cause, in the order [`DropCounts`] stores them.
    pub const ALL: [DropCause; 10] = [
        DropCause::Unroutable,
        DropCause::Loop,
        DropCause::Watermark,
        DropCause::HopLimit,
        DropCause::TooLarge,
        DropCause::NoPeering,
        DropCause::OutputFull,
        DropCause::CrossingFull,
        DropCause::DeliveryFull,
        DropCause::UnknownFrame,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

impl From<DropReason> for DropCause {
    fn from(reason: DropReason) -> Self {
        match reason {
            DropReason::Unroutable => DropCause::Unroutable,
            DropReason::Loop => DropCause::Loop,
            DropReason::Watermark => DropCause::Watermark,
            DropReason::HopLimit => DropCause::HopLimit,
            DropReason::TooLarge => DropCause::TooLarge,
        }
    }
}

/// Dropped frames by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropCause::ALL.len()]);

impl DropCounts {
    /// Frames dropped for `cause`.
    pub fn get(&self, cause: DropCause) -> u64 {
        self.0[cause.index()]
    }

    /// Frames dropped for any cause.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Each cause with its count, in [`DropCause::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (DropCause, u64)> + '_ {
        DropCause::ALL.iter().map(|&cause| (cause, self.get(cause)))
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &DropCounts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.wrapping_add(theirs);
        }
    }
}

impl DropCause {
    /// The cause's name as a metric label: `snake_case`, as serialised.
    pub fn label(self) -> &'static str {
        match self {
            DropCause::Unroutable => "unroutable",
            DropCause::Loop => "loop",
            DropCause::Watermark => "watermark",
            DropCause::HopLimit => "hop_limit",
            DropCause::TooLarge => "too_large",
            DropCause::NoPeering => "no_peering",
            DropCause::OutputFull => "output_full",
            DropCause::CrossingFull => "crossing_full",
            DropCause::DeliveryFull => "delivery_full",
            DropCause::UnknownFrame => "unknown_frame",
        }
    }
}

impl serde::Serialize for DropCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(DropCause::ALL.len()))?;
        for (cause, count) in self.iter() {
            map.serialize_entry(&cause, &count)?;
        }
        map.end()
    }
}

/// A peering's counters, written by the worker that owns it and read from
/// any thread (the control thread's timers, the state dump, the stats).
///
/// Frames are counted when they enter an output lane (`*_out`) and when
/// they are taken from the input (`*_in`); bytes and whole frames written
/// are counted when the I/O driver reports a write, once per write, so
/// what waits on each lane is the difference. Drops are counted against
/// the peering a frame came from (routing drops) or was going to (full
/// lanes and queues).
#[derive(Debug, Default)]
pub struct PeeringCounters {
    frames_in: AtomicU64,
    bytes_in: AtomicU64,
    traffic_bytes_in: AtomicU64,
    protocol_frames_out: AtomicU64,
    protocol_bytes_out: AtomicU64,
    transit_frames_out: AtomicU64,
    transit_bytes_out: AtomicU64,
    local_frames_out: AtomicU64,
    local_bytes_out: AtomicU64,
    bytes_written: AtomicU64,
    protocol_frames_written: AtomicU64,
    protocol_bytes_written: AtomicU64,
    traffic_frames_written: AtomicU64,
    last_received: AtomicU64,
    last_sent: AtomicU64,
    /// Bytes of received protocol frames the control plane holds: added by
    /// the owning worker, released by the control thread.
    control_bytes: AtomicUsize,
    drops: [AtomicU64; DropCause::ALL.len()],
}

/// Adds to a counter that only one thread writes: a plain load and store,
/// with no locked instruction on the per-frame path.
fn add_owned(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl PeeringCounters {
    /// Counters for a peering attached at `now`: both timestamps start at
    /// `now`, so a new peering is not taken for a dead one.
    pub(crate) fn new(now: Millis) -> PeeringCounters {
        let counters = PeeringCounters::default();
        counters.last_received.store(now.0, Relaxed);
        counters.last_sent.store(now.0, Relaxed);
        counters
    }

    /// Frames taken from the input, `bytes` long in all of which
    /// `traffic_bytes` were traffic frames. Owner only.
    pub(crate) fn count_in(&self, frames: u64, bytes: u64, traffic_bytes: u64, now: Millis) {
        add_owned(&self.frames_in, frames);
        add_owned(&self.bytes_in, bytes);
        add_owned(&self.traffic_bytes_in, traffic_bytes);
        self.last_received.store(now.0, Relaxed);
    }

    /// A protocol frame put on the protocol lane. Owner only.
    pub(crate) fn count_protocol_out(&self, bytes: usize) {
        add_owned(&self.protocol_frames_out, 1);
        add_owned(&self.protocol_bytes_out, bytes as u64);
    }

    /// A transit traffic frame (received on a peering) put on the traffic
    /// lane. Owner only.
    pub(crate) fn count_traffic_out(&self, bytes: usize) {
        add_owned(&self.transit_frames_out, 1);
        add_owned(&self.transit_bytes_out, bytes as u64);
    }

    /// A traffic frame the local application sent put on the traffic
    /// lane. Owner only.
    pub(crate) fn count_local_out(&self, bytes: usize) {
        add_owned(&self.local_frames_out, 1);
        add_owned(&self.local_bytes_out, bytes as u64);
    }

    /// Bytes the driver wrote, and the frames that write finished. Owner
    /// only.
    pub(crate) fn count_written(&self, bytes: usize, written: Written, now: Millis) {
        add_owned(&self.bytes_written, bytes as u64);
        if written.protocol_bytes > 0 {
            add_owned(&self.protocol_frames_written, written.protocol_frames);
            add_owned(&self.protocol_bytes_written, written.protocol_bytes);
        }
        add_owned(&self.traffic_frames_written, written.traffic_frames);
        self.last_sent.store(now.0, Relaxed);
    }

    /// Frames dropped for `cause`; any thread.
    pub(crate) fn count_drops(&self, cause: DropCause, frames: u64) {
        self.drops[cause.index()].fetch_add(frames, Relaxed);
    }

    /// Received protocol frames of `bytes` now held by the control plane.
    /// Owner only.
    pub(crate) fn charge_control(&self, bytes: usize) {
        self.control_bytes.fetch_add(bytes, SeqCst);
    }

    /// The control plane dropped frames of `bytes`; any thread.
    pub(crate) fn release_control(&self, bytes: usize) {
        self.control_bytes.fetch_sub(bytes, SeqCst);
    }

    /// Bytes of received protocol frames queued for or held by the control
    /// plane (see
    /// [`ForwardConfig::control_bytes_per_peering`](super::ForwardConfig::control_bytes_per_peering)).
    pub fn control_bytes(&self) -> usize {
        self.control_bytes.load(SeqCst)
    }

    /// When a frame was last received (or the peering attached).
    pub fn last_received(&self) -> Millis {
        Millis(self.last_received.load(Relaxed))
    }

    /// When bytes were last written (or the peering attached).
    pub fn last_sent(&self) -> Millis {
        Millis(self.last_sent.load(Relaxed))
    }

    /// A copy of every counter. The counters are read one by one while the
    /// owner may be counting, so two of them can be a frame apart; the
    /// queue figures, differences of two counters, never go below zero.
    pub fn snapshot(&self) -> PeeringStats {
        let load = |counter: &AtomicU64| counter.load(Relaxed);
        // Written before queued: a frame is queued before it is written, so
        // the figures waiting are never short of a frame read in between.
        let bytes_written = load(&self.bytes_written);
        let protocol_frames_written = load(&self.protocol_frames_written);
        let protocol_bytes_written = load(&self.protocol_bytes_written);
        let traffic_frames_written = load(&self.traffic_frames_written);
        let protocol_frames_out = load(&self.protocol_frames_out);
        let protocol_bytes_out = load(&self.protocol_bytes_out);
        let forwarded_frames = load(&self.transit_frames_out);
        let forwarded_bytes = load(&self.transit_bytes_out);
        let local_frames_out = load(&self.local_frames_out);
        let local_bytes_out = load(&self.local_bytes_out);
        let traffic_frames_out = forwarded_frames.wrapping_add(local_frames_out);
        let traffic_bytes_out = forwarded_bytes.wrapping_add(local_bytes_out);
        let traffic_bytes_written = bytes_written.saturating_sub(protocol_bytes_written);
        PeeringStats {
            frames_in: load(&self.frames_in),
            bytes_in: load(&self.bytes_in),
            frames_out: protocol_frames_out.wrapping_add(traffic_frames_out),
            bytes_out: protocol_bytes_out.wrapping_add(traffic_bytes_out),
            traffic_bytes_in: load(&self.traffic_bytes_in),
            traffic_frames_out,
            traffic_bytes_out,
            forwarded_frames,
            forwarded_bytes,
            local_frames_out,
            local_bytes_out,
            bytes_written,
            protocol_queue: QueueDepth {
                frames: protocol_frames_out.saturating_sub(protocol_frames_written),
                bytes: protocol_bytes_out.saturating_sub(protocol_bytes_written),
            },
            traffic_queue: QueueDepth {
                frames: traffic_frames_out.saturating_sub(traffic_frames_written),
                bytes: traffic_bytes_out.saturating_sub(traffic_bytes_written),
            },
            last_received: self.last_received(),
            last_sent: self.last_sent(),
            control_bytes: self.control_bytes() as u64,
            drops: DropCounts(std::array::from_fn(|i| self.drops[i].load(Relaxed))),
        }
    }
}

/// What waits to be written on one lane of a peering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    /// Frames not yet wholly written.
    pub frames: u64,
    /// Their bytes not yet written.
    pub bytes: u64,
}

/// A copy of a peering's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PeeringStats {
    /// Frames received.
    pub frames_in: u64,
    /// Bytes of the frames received.
    pub bytes_in: u64,
    /// Frames queued for writing (both lanes).
    pub frames_out: u64,
    /// Bytes of the frames queued for writing.
    pub bytes_out: u64,
    /// Bytes of the traffic frames received (part of `bytes_in`).
    pub traffic_bytes_in: u64,
    /// Traffic frames queued for writing (part of `frames_out`): the
    /// forwarded ones and the local application's.
    pub traffic_frames_out: u64,
    /// Bytes of the traffic frames queued for writing (part of
    /// `bytes_out`).
    pub traffic_bytes_out: u64,
    /// Traffic frames received on a peering and queued on this one by the
    /// forwarding plane (transit; part of `traffic_frames_out`).
    pub forwarded_frames: u64,
    /// Bytes of those frames.
    pub forwarded_bytes: u64,
    /// Traffic frames the local application sent queued on this peering
    /// (part of `traffic_frames_out`).
    pub local_frames_out: u64,
    /// Bytes of those frames.
    pub local_bytes_out: u64,
    /// Bytes the I/O driver wrote.
    pub bytes_written: u64,
    /// What waits on the protocol lane.
    pub protocol_queue: QueueDepth,
    /// What waits on the traffic lane.
    pub traffic_queue: QueueDepth,
    /// When a frame was last received (or the peering attached).
    #[serde(serialize_with = "millis")]
    pub last_received: Millis,
    /// When bytes were last written (or the peering attached).
    #[serde(serialize_with = "millis")]
    pub last_sent: Millis,
    /// Bytes of received protocol frames queued for or held by the control
    /// plane at that moment.
    pub control_bytes: u64,
    /// Frames dropped, by cause.
    pub drops: DropCounts,
}

fn millis<S: serde::Serializer>(value: &Millis, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_every_counter() {
        let counters = PeeringCounters::new(Millis(7));
        counters.count_in(2, 300, 200, Millis(9));
        counters.count_traffic_out(120);
        counters.count_local_out(50);
        counters.count_protocol_out(30);
        let written = Written {
            protocol_frames: 1,
            protocol_bytes: 30,
            traffic_frames: 0,
        };
        counters.count_written(100, written, Millis(11));
        counters.count_drops(DropCause::OutputFull, 3);
        counters.count_drops(DropCause::Loop, 1);
        let stats = counters.snapshot();
        assert_eq!((stats.frames_in, stats.bytes_in), (2, 300));
        assert_eq!((stats.frames_out, stats.bytes_out), (3, 200));
        assert_eq!(
            (stats.traffic_bytes_in, stats.traffic_bytes_out),
            (200, 170)
        );
        assert_eq!((stats.forwarded_frames, stats.forwarded_bytes), (1, 120));
        assert_eq!((stats.local_frames_out, stats.local_bytes_out), (1, 50));
        assert_eq!(stats.bytes_written, 100);
        assert_eq!(stats.protocol_queue, QueueDepth::default());
        assert_eq!(
            stats.traffic_queue,
            QueueDepth {
                frames: 2,
                bytes: 100
            }
        );
        assert_eq!(
            (stats.last_received, stats.last_sent),
            (Millis(9), Millis(11))
        );
        assert_eq!(stats.drops.get(DropCause::OutputFull), 3);
        assert_eq!(stats.drops.get(DropCause::Loop), 1);
        assert_eq!(stats.drops.total(), 4);
    }

    #[test]
    fn causes_are_stored_in_declaration_order() {
        for (i, cause) in DropCause::ALL.iter().enumerate() {
            assert_eq!(cause.index(), i);
        }
    }
}
