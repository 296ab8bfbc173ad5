//! Counters of the whole forwarding plane: every peering's, those of
//! peerings gone, and the local application's, summed when asked for.

use super::counters::{DropCounts, PeeringStats, QueueDepth};

/// The forwarding plane's counters at one moment (see
/// [`Fabric::stats`](super::Fabric::stats)).
///
/// The totals count since the fabric was made, over every peering it ever
/// had: a peering's counts stay in them when it closes, so they only go
/// up. The queue figures are what waits now, on the peerings there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlaneStats {
    /// Frames received.
    pub frames_in: u64,
    /// Bytes of the frames received.
    pub bytes_in: u64,
    /// Bytes of the traffic frames received.
    pub traffic_bytes_in: u64,
    /// Transit traffic frames: received on one peering and queued on
    /// another.
    pub forwarded_frames: u64,
    /// Bytes of the transit traffic frames.
    pub forwarded_bytes: u64,
    /// Traffic frames the local application sent, queued on a peering.
    pub local_frames_out: u64,
    /// Bytes of those frames.
    pub local_bytes_out: u64,
    /// Protocol frames queued on peerings (from the control plane).
    pub protocol_frames_out: u64,
    /// Bytes of those frames.
    pub protocol_bytes_out: u64,
    /// Bytes the I/O drivers wrote.
    pub bytes_written: u64,
    /// Frames dropped, by cause, including the local application's.
    pub drops: DropCounts,
    /// What waits on the peerings' protocol lanes now.
    pub protocol_queue: QueueDepth,
    /// What waits on the peerings' traffic lanes now.
    pub traffic_queue: QueueDepth,
    /// Received protocol frames waiting for the control plane now.
    pub control_queue_frames: u64,
    /// Bytes of received protocol frames queued for or held by the control
    /// plane now.
    pub control_queue_bytes: u64,
    /// Datagrams waiting for the local application now.
    pub deliveries_queued: u64,
}

impl PlaneStats {
    /// Adds one peering's counts (not its queues).
    pub(crate) fn add_counts(&mut self, peering: &PeeringStats) {
        let add = |total: &mut u64, n: u64| *total = total.wrapping_add(n);
        add(&mut self.frames_in, peering.frames_in);
        add(&mut self.bytes_in, peering.bytes_in);
        add(&mut self.traffic_bytes_in, peering.traffic_bytes_in);
        add(&mut self.forwarded_frames, peering.forwarded_frames);
        add(&mut self.forwarded_bytes, peering.forwarded_bytes);
        add(&mut self.local_frames_out, peering.local_frames_out);
        add(&mut self.local_bytes_out, peering.local_bytes_out);
        add(
            &mut self.protocol_frames_out,
            peering.frames_out.wrapping_sub(peering.traffic_frames_out),
        );
        add(
            &mut self.protocol_bytes_out,
            peering.bytes_out.wrapping_sub(peering.traffic_bytes_out),
        );
        add(&mut self.bytes_written, peering.bytes_written);
        self.drops.add(&peering.drops);
    }

    /// Adds what waits on one peering's lanes.
    pub(crate) fn add_queues(&mut self, peering: &PeeringStats) {
        for (total, lane) in [
            (&mut self.protocol_queue, peering.protocol_queue),
            (&mut self.traffic_queue, peering.traffic_queue),
        ] {
            total.frames = total.frames.saturating_add(lane.frames);
            total.bytes = total.bytes.saturating_add(lane.bytes);
        }
    }
}
