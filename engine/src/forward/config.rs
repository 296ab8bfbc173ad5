//! Sizes and bounds of the forwarding plane.

use crate::wire::MAX_FRAME_LEN;

/// Sizes and bounds of a [`Fabric`](super::Fabric) and its workers.
///
/// Every queue of the forwarding plane is bounded by one of these; each
/// field says what happens at its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardConfig {
    /// Number of workers (one per forwarding thread).
    pub workers: usize,
    /// Bytes of each peering's input buffer, the most one read can bring
    /// in. At least two maximum frames, so that a partial frame always
    /// leaves room for the rest of it. A peering holds one only while it
    /// has bytes read and not yet taken as frames (see
    /// [`Worker::read_buffer`](super::Worker::read_buffer)).
    pub input_buffer_len: usize,
    /// Most bytes of traffic waiting to be written on one peering. A
    /// traffic frame that would go past it is dropped and counted against
    /// that peering ([`DropCause::OutputFull`](super::DropCause::OutputFull)),
    /// except one the local application sent: up to another lane's worth of
    /// those is held for the lane to drain, and past that the worker leaves
    /// local frames in their queue until it has. A peering holds a lane
    /// only while traffic waits on it.
    pub traffic_lane_len: usize,
    /// Emptied input buffers, and emptied traffic lanes, each worker keeps
    /// for reuse whatever its rounds need. Beyond these, a worker keeps as
    /// many as were in use at once in its last two rounds (calls to
    /// [`Worker::process`](super::Worker::process)), so that peerings busy
    /// round after round take theirs back instead of allocating, however
    /// many they are; past that, an emptied buffer is freed, so after a
    /// burst the spares shrink back within two rounds. Each spare costs its
    /// full length while kept.
    pub spare_buffers: usize,
    /// Most bytes of protocol frames waiting to be written on one peering.
    /// Protocol frames are never dropped: a peering past this bound is not
    /// reading and is marked broken
    /// ([`PeeringError::ProtocolBacklog`](super::PeeringError::ProtocolBacklog)).
    pub protocol_lane_len: usize,
    /// Bytes of one batch of traffic crossing to another worker.
    pub batch_len: usize,
    /// Batches waiting for each worker. A worker with a batch for a worker
    /// whose queue is full keeps it and stops taking frames from the input
    /// that needs it until there is room (backpressure: that worker is not
    /// keeping up, and nothing is dropped).
    pub crossing_queue_len: usize,
    /// Protocol frames the control plane sent waiting for each worker. At
    /// the bound [`Fabric::send_protocol`](super::Fabric::send_protocol)
    /// hands the frame back, to be sent again later.
    pub protocol_queue_len: usize,
    /// Frames the local application sent waiting for each worker
    /// ([`Fabric::send_local`](super::Fabric::send_local)). At the bound a
    /// frame is dropped and counted against its destination peering
    /// ([`DropCause::CrossingFull`](super::DropCause::CrossingFull)).
    pub local_queue_len: usize,
    /// Received protocol frames waiting for the control plane. At the bound
    /// a worker stops reading the peering that has one more, until there is
    /// room (backpressure; nothing is dropped).
    pub control_queue_len: usize,
    /// Most bytes of received protocol frames one peering may have queued
    /// for or held by the control plane: a frame is charged to its peering
    /// when queued and released when the control plane drops its
    /// [`ControlFrame`](super::ControlFrame). A peering that would go past
    /// it is not read until its frames are released (backpressure on that
    /// peering only; nothing is dropped), so a flood from one peering never
    /// takes the control plane's attention from the others. At least one
    /// maximum frame.
    pub control_bytes_per_peering: usize,
    /// Most bytes of received protocol frames queued for or held by the
    /// control plane over every peering, charged and released as for
    /// [`control_bytes_per_peering`](Self::control_bytes_per_peering). A
    /// peering whose next frame would take the total past it is not read
    /// until frames are released. At least `control_bytes_per_peering`.
    pub control_queue_bytes: usize,
    /// Datagrams for the local application waiting to be polled. At the
    /// bound a datagram is dropped and counted
    /// ([`DropCause::DeliveryFull`](super::DropCause::DeliveryFull)).
    pub delivery_queue_len: usize,
    /// Routing answers each worker remembers for SNEK-routed traffic
    /// (rounded up to a power of two; about 150 bytes each). Answers last
    /// as long as the table snapshot and the millisecond they were made in.
    pub route_cache_len: usize,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            workers: 1,
            input_buffer_len: 256 << 10,
            traffic_lane_len: 256 << 10,
            spare_buffers: 16,
            protocol_lane_len: 1 << 20,
            batch_len: 2 * MAX_FRAME_LEN,
            crossing_queue_len: 32,
            protocol_queue_len: 4_096,
            local_queue_len: 4_096,
            control_queue_len: 4_096,
            control_bytes_per_peering: 128 << 10,
            control_queue_bytes: 32 << 20,
            delivery_queue_len: 4_096,
            route_cache_len: 4_096,
        }
    }
}

impl ForwardConfig {
    /// The configuration with every size raised to the minimum that works:
    /// one worker, buffers that hold two maximum frames, queues of one,
    /// control bounds of one maximum frame, a route cache of two entries up
    /// to 2^20.
    pub(crate) fn sanitised(&self) -> ForwardConfig {
        let frames = 2 * MAX_FRAME_LEN;
        let control_bytes_per_peering = self.control_bytes_per_peering.max(MAX_FRAME_LEN);
        ForwardConfig {
            workers: self.workers.max(1),
            input_buffer_len: self.input_buffer_len.max(frames),
            traffic_lane_len: self.traffic_lane_len,
            spare_buffers: self.spare_buffers,
            protocol_lane_len: self.protocol_lane_len.max(MAX_FRAME_LEN),
            batch_len: self.batch_len.max(MAX_FRAME_LEN),
            crossing_queue_len: self.crossing_queue_len.max(1),
            protocol_queue_len: self.protocol_queue_len.max(1),
            local_queue_len: self.local_queue_len.max(1),
            control_queue_len: self.control_queue_len.max(1),
            control_bytes_per_peering,
            control_queue_bytes: self.control_queue_bytes.max(control_bytes_per_peering),
            delivery_queue_len: self.delivery_queue_len.max(1),
            route_cache_len: self.route_cache_len.clamp(2, 1 << 20).next_power_of_two(),
        }
    }
}
