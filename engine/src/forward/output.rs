//! A peering's output queue: a protocol lane that goes out first and a
//! bounded traffic lane, written with one vectored write per round. The
//! traffic lane is lent by the worker's pool when a frame is queued and
//! given back once everything on it is written; the protocol lane gives
//! back its memory when it empties after growing past a few KiB.

use std::io::IoSlice;

use super::buffer_pool::BufferPool;
use crate::wire::{EncodeError, HEADER_LEN};

/// Bytes of memory an empty protocol lane keeps (enough for the usual
/// frames); a lane that grew past it gives it back once empty.
const PROTOCOL_LANE_KEEP: usize = 4 << 10;

/// Why a frame was not put on a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The lane is at its bound.
    Full,
    /// The frame could not be encoded (it would be too large).
    Encode(EncodeError),
}

/// What one write took off a queue: whole frames finished on each lane and
/// the protocol lane's bytes (the rest of the bytes written were traffic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// Protocol frames whose last byte was written.
    pub(crate) protocol_frames: u64,
    /// Bytes written from the protocol lane.
    pub(crate) protocol_bytes: u64,
    /// Traffic frames whose last byte was written.
    pub(crate) traffic_frames: u64,
}

/// Bytes waiting to be written on one peering.
///
/// Protocol frames have priority: they go out before any traffic frame not
/// yet started. A traffic frame the driver wrote only part of is finished
/// first, so that frames never interleave on the stream.
#[derive(Debug)]
pub(crate) struct OutputQueue {
    protocol: Vec<u8>,
    protocol_head: usize,
    /// Start of the protocol frame `protocol_head` is in (equal to it
    /// between frames), so that finished frames can be counted.
    protocol_frame_start: usize,
    protocol_bound: usize,
    /// `None` while empty: the lane went back to the pool.
    traffic: Option<Box<[u8]>>,
    traffic_head: usize,
    traffic_tail: usize,
    /// End of the traffic frame the driver has written part of.
    traffic_split: Option<usize>,
    /// Traffic frames on the lane not yet wholly written.
    traffic_frames: usize,
}

/// The bytes to write next on a peering, in order: up to three slices for
/// one vectored write.
#[derive(Debug, Clone, Copy)]
pub struct OutputChunks<'a> {
    parts: [&'a [u8]; 3],
}

impl OutputChunks<'static> {
    /// Nothing to write.
    pub const EMPTY: OutputChunks<'static> = OutputChunks { parts: [&[]; 3] };
}

impl<'a> OutputChunks<'a> {
    /// The slices, in stream order (some may be empty).
    pub fn parts(&self) -> [&'a [u8]; 3] {
        self.parts
    }

    /// The slices for `writev` or an io_uring vectored write.
    pub fn io_slices(&self) -> [IoSlice<'a>; 3] {
        self.parts.map(IoSlice::new)
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The error of a frame of `needed` bytes that does not fit in `available`.
pub(crate) fn too_small(needed: usize, available: usize) -> EncodeError {
    EncodeError::BufferTooSmall { needed, available }
}

/// The length written in the header of the frame starting at `pos`.
fn frame_len_at(buf: &[u8], pos: usize) -> usize {
    match buf.get(pos + HEADER_LEN - 2..pos + HEADER_LEN) {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])).max(HEADER_LEN),
        _ => HEADER_LEN,
    }
}

impl OutputQueue {
    /// An empty queue with a protocol lane bounded at `protocol_bound`
    /// bytes; its traffic lane comes from a pool when needed.
    pub(crate) fn new(protocol_bound: usize) -> OutputQueue {
        OutputQueue {
            protocol: Vec::new(),
            protocol_head: 0,
            protocol_frame_start: 0,
            protocol_bound,
            traffic: None,
            traffic_head: 0,
            traffic_tail: 0,
            traffic_split: None,
            traffic_frames: 0,
        }
    }

    /// Bytes waiting in both lanes.
    pub(crate) fn pending(&self) -> usize {
        self.protocol_pending() + self.traffic_pending()
    }

    fn protocol_pending(&self) -> usize {
        self.protocol.len() - self.protocol_head
    }

    fn traffic_pending(&self) -> usize {
        self.traffic_tail - self.traffic_head
    }

    /// Appends one traffic frame that `emit` writes into the slice it is
    /// given, returning the frame's length; the lane is taken from `lanes`
    /// if none is held. Fails when the frame does not fit in what is left
    /// of the lane.
    #[inline]
    pub(crate) fn push_traffic(
        &mut self,
        lanes: &mut BufferPool,
        mut emit: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<usize, PushError> {
        loop {
            let lane = self.traffic.get_or_insert_with(|| lanes.take());
            let space = lane.get_mut(self.traffic_tail..).unwrap_or_default();
            let error = match emit(space) {
                Ok(len) => {
                    self.traffic_tail += len;
                    self.traffic_frames += 1;
                    return Ok(len);
                }
                Err(EncodeError::BufferTooSmall { .. }) if self.traffic_head > 0 => {
                    self.compact_traffic();
                    continue;
                }
                Err(EncodeError::BufferTooSmall { .. }) => PushError::Full,
                Err(error) => PushError::Encode(error),
            };
            self.release_idle_lane(lanes);
            return Err(error);
        }
    }

    /// Appends one traffic frame as it is.
    pub(crate) fn push_traffic_bytes(
        &mut self,
        lanes: &mut BufferPool,
        frame: &[u8],
    ) -> Result<usize, PushError> {
        self.push_traffic(lanes, |out| match out.get_mut(..frame.len()) {
            Some(dst) => {
                dst.copy_from_slice(frame);
                Ok(frame.len())
            }
            None => Err(too_small(frame.len(), out.len())),
        })
    }

    /// Gives the traffic lane back to `lanes` if nothing is on it.
    fn release_idle_lane(&mut self, lanes: &mut BufferPool) {
        if self.traffic_tail == 0 {
            if let Some(lane) = self.traffic.take() {
                lanes.give(lane);
            }
        }
    }

    /// Gives the traffic lane back to `lanes`, with whatever is on it.
    pub(crate) fn release(&mut self, lanes: &mut BufferPool) {
        self.traffic_head = 0;
        self.traffic_tail = 0;
        self.traffic_split = None;
        self.traffic_frames = 0;
        self.release_idle_lane(lanes);
    }

    /// Whether a traffic lane is held.
    pub(crate) fn holds_lane(&self) -> bool {
        self.traffic.is_some()
    }

    fn compact_traffic(&mut self) {
        let head = self.traffic_head;
        let Some(lane) = self.traffic.as_mut() else {
            return;
        };
        lane.copy_within(head..self.traffic_tail, 0);
        self.traffic_tail -= head;
        self.traffic_head = 0;
        self.traffic_split = self.traffic_split.map(|end| end - head);
    }

    /// Appends one protocol frame. Fails, with the bytes already waiting,
    /// when it would take the lane past its bound.
    pub(crate) fn push_protocol(&mut self, frame: &[u8]) -> Result<(), usize> {
        let queued = self.protocol_pending();
        if queued + frame.len() > self.protocol_bound {
            return Err(queued);
        }
        let start = self.protocol_frame_start;
        if start > 0 && start >= queued {
            self.protocol.drain(..start);
            self.protocol_head -= start;
            self.protocol_frame_start = 0;
        }
        self.protocol.extend_from_slice(frame);
        Ok(())
    }

    /// What to write next.
    pub(crate) fn chunks(&self) -> OutputChunks<'_> {
        let protocol = self.protocol.get(self.protocol_head..).unwrap_or_default();
        let lane = self.traffic.as_deref().unwrap_or_default();
        let traffic = |from: usize, to: usize| lane.get(from..to).unwrap_or_default();
        let parts = match self.traffic_split {
            Some(split) => [
                traffic(self.traffic_head, split),
                protocol,
                traffic(split, self.traffic_tail),
            ],
            None => [protocol, traffic(self.traffic_head, self.traffic_tail), &[]],
        };
        OutputChunks { parts }
    }

    /// Records that the driver wrote the first `n` bytes of
    /// [`chunks`](Self::chunks); more than was there counts as all of it.
    /// An emptied traffic lane goes back to `lanes`. Returns what the
    /// write finished.
    pub(crate) fn consume(&mut self, lanes: &mut BufferPool, n: usize) -> Written {
        let mut done = Written::default();
        let mut n = n.min(self.pending());
        if let Some(split) = self.traffic_split {
            let k = n.min(split - self.traffic_head);
            self.traffic_head += k;
            n -= k;
            if self.traffic_head < split {
                return done;
            }
            self.traffic_split = None;
            self.traffic_frames = self.traffic_frames.saturating_sub(1);
            done.traffic_frames += 1;
        }
        let k = n.min(self.protocol_pending());
        done.protocol_bytes = k as u64;
        done.protocol_frames = self.advance_protocol(k);
        n -= k;
        if n > 0 {
            done.traffic_frames += self.advance_traffic(n);
        }
        if self.traffic_head == self.traffic_tail {
            self.traffic_head = 0;
            self.traffic_tail = 0;
            self.traffic_frames = 0;
            self.release_idle_lane(lanes);
        }
        done
    }

    /// Moves the protocol head on by `k` bytes; returns how many frames
    /// that finished. Protocol frames are few, so walking their headers
    /// costs little.
    fn advance_protocol(&mut self, k: usize) -> u64 {
        let target = self.protocol_head + k;
        let mut finished = 0;
        while self.protocol_frame_start < target {
            let end =
                self.protocol_frame_start + frame_len_at(&self.protocol, self.protocol_frame_start);
            if end > target {
                break;
            }
            self.protocol_frame_start = end;
            finished += 1;
        }
        self.protocol_head = target;
        if self.protocol_head == self.protocol.len() {
            self.empty_protocol_lane();
        }
        finished
    }

    /// Empties the protocol lane, giving its memory back if it grew.
    fn empty_protocol_lane(&mut self) {
        self.protocol_head = 0;
        self.protocol_frame_start = 0;
        if self.protocol.capacity() > PROTOCOL_LANE_KEEP {
            self.protocol = Vec::new();
        } else {
            self.protocol.clear();
        }
    }

    /// Moves the traffic head on by `n` bytes from a frame boundary, noting
    /// where the frame it stops in ends; returns how many frames that
    /// finished. Only a write that stops inside the lane walks the headers
    /// it passed; one that empties it finishes every frame on it.
    fn advance_traffic(&mut self, n: usize) -> u64 {
        let target = self.traffic_head + n;
        if target >= self.traffic_tail {
            self.traffic_head = self.traffic_tail;
            return std::mem::take(&mut self.traffic_frames) as u64;
        }
        let lane = self.traffic.as_deref().unwrap_or_default();
        let mut boundary = self.traffic_head;
        let mut finished = 0;
        while boundary < target {
            boundary += frame_len_at(lane, boundary);
            if boundary <= target {
                finished += 1;
            }
        }
        self.traffic_head = target;
        if boundary > target {
            self.traffic_split = Some(boundary.min(self.traffic_tail));
        }
        self.traffic_frames = self.traffic_frames.saturating_sub(finished);
        finished as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake frame of `len` bytes whose header holds its length and whose
    /// bytes are all `fill` otherwise.
    fn frame(len: u16, fill: u8) -> Vec<u8> {
        let mut f = vec![fill; usize::from(len)];
        f[8..10].copy_from_slice(&len.to_be_bytes());
        f
    }

    /// A queue with the pool its traffic lanes come from.
    struct Lanes {
        queue: OutputQueue,
        pool: BufferPool,
    }

    impl Lanes {
        fn new(traffic_len: usize, protocol_bound: usize) -> Lanes {
            Lanes {
                queue: OutputQueue::new(protocol_bound),
                pool: BufferPool::new(traffic_len, 1),
            }
        }

        fn push_traffic_bytes(&mut self, frame: &[u8]) -> Result<usize, PushError> {
            self.queue.push_traffic_bytes(&mut self.pool, frame)
        }

        fn push_protocol(&mut self, frame: &[u8]) -> Result<(), usize> {
            self.queue.push_protocol(frame)
        }

        fn consume(&mut self, n: usize) -> Written {
            self.queue.consume(&mut self.pool, n)
        }

        fn chunks(&self) -> OutputChunks<'_> {
            self.queue.chunks()
        }

        fn pending(&self) -> usize {
            self.queue.pending()
        }
    }

    fn flat(out: &Lanes) -> Vec<u8> {
        out.chunks().parts().concat()
    }

    #[test]
    fn protocol_goes_first() {
        let mut out = Lanes::new(1024, 1024);
        out.push_traffic_bytes(&frame(20, 1)).unwrap();
        out.push_protocol(&frame(12, 2)).unwrap();
        assert_eq!(flat(&out), [frame(12, 2), frame(20, 1)].concat());
    }

    #[test]
    fn a_partly_written_traffic_frame_is_finished_before_protocol() {
        let mut out = Lanes::new(1024, 1024);
        out.push_traffic_bytes(&frame(20, 1)).unwrap();
        out.push_traffic_bytes(&frame(30, 3)).unwrap();
        out.consume(5);
        out.push_protocol(&frame(12, 2)).unwrap();
        let expected = [&frame(20, 1)[5..], &frame(12, 2), &frame(30, 3)].concat();
        assert_eq!(flat(&out), expected);
        // Write through the end of the first traffic frame and into the
        // protocol frame: the protocol frame is finished next.
        out.consume(15 + 4);
        assert_eq!(flat(&out), [&frame(12, 2)[4..], &frame(30, 3)].concat());
        out.consume(8 + 10);
        assert_eq!(flat(&out), frame(30, 3)[10..].to_vec());
        out.push_protocol(&frame(12, 4)).unwrap();
        assert_eq!(
            flat(&out),
            [&frame(30, 3)[10..], &frame(12, 4)[..]].concat()
        );
        out.consume(1000);
        assert_eq!(out.pending(), 0);
        assert!(out.chunks().is_empty());
    }

    #[test]
    fn writes_report_the_frames_they_finish() {
        let mut out = Lanes::new(1024, 1024);
        out.push_traffic_bytes(&frame(20, 1)).unwrap();
        out.push_traffic_bytes(&frame(30, 3)).unwrap();
        assert_eq!(out.consume(5), Written::default(), "inside the first frame");
        out.push_protocol(&frame(12, 2)).unwrap();
        out.push_protocol(&frame(14, 4)).unwrap();
        // The rest of the split traffic frame, one protocol frame and part
        // of the next.
        let written = Written {
            protocol_frames: 1,
            protocol_bytes: 16,
            traffic_frames: 1,
        };
        assert_eq!(out.consume(15 + 12 + 4), written);
        // The rest of that protocol frame and part of a traffic frame.
        let written = Written {
            protocol_frames: 1,
            protocol_bytes: 10,
            traffic_frames: 0,
        };
        assert_eq!(out.consume(10 + 7), written);
        out.push_traffic_bytes(&frame(10, 5)).unwrap();
        out.push_traffic_bytes(&frame(10, 6)).unwrap();
        // Past two frame ends, stopping inside the third frame.
        let written = Written {
            traffic_frames: 2,
            ..Written::default()
        };
        assert_eq!(out.consume(23 + 10 + 1), written);
        let written = Written {
            traffic_frames: 1,
            ..Written::default()
        };
        assert_eq!(out.consume(1000), written);
        assert_eq!(out.pending(), 0);
    }

    #[test]
    fn protocol_frames_are_counted_across_a_compaction() {
        let mut out = Lanes::new(64, 1024);
        out.push_protocol(&frame(20, 1)).unwrap();
        out.push_protocol(&frame(20, 2)).unwrap();
        assert_eq!(out.consume(30).protocol_frames, 1);
        // Pushing now moves the unwritten bytes to the front of the lane,
        // from the start of the frame the head is in.
        out.push_protocol(&frame(10, 3)).unwrap();
        assert_eq!(
            flat(&out),
            [&frame(20, 2)[10..], &frame(10, 3)[..]].concat()
        );
        assert_eq!(out.consume(10).protocol_frames, 1);
        assert_eq!(out.consume(9).protocol_frames, 0);
        assert_eq!(out.consume(1).protocol_frames, 1);
    }

    #[test]
    fn traffic_lane_is_bounded_and_compacts() {
        let mut out = Lanes::new(64, 1024);
        out.push_traffic_bytes(&frame(30, 1)).unwrap();
        out.push_traffic_bytes(&frame(30, 2)).unwrap();
        assert_eq!(out.push_traffic_bytes(&frame(30, 3)), Err(PushError::Full));
        // Once the first frame is written there is room again, at the front.
        out.consume(30);
        out.push_traffic_bytes(&frame(30, 3)).unwrap();
        assert_eq!(flat(&out), [frame(30, 2), frame(30, 3)].concat());
    }

    #[test]
    fn compaction_keeps_a_split_frame_intact() {
        let mut out = Lanes::new(64, 1024);
        out.push_traffic_bytes(&frame(30, 1)).unwrap();
        out.push_traffic_bytes(&frame(30, 2)).unwrap();
        out.consume(40);
        out.push_protocol(&frame(10, 9)).unwrap();
        out.push_traffic_bytes(&frame(30, 3)).unwrap();
        let expected = [&frame(30, 2)[10..], &frame(10, 9), &frame(30, 3)].concat();
        assert_eq!(flat(&out), expected);
    }

    #[test]
    fn io_slices_make_one_vectored_write() {
        use std::io::Write;
        let mut out = Lanes::new(1024, 1024);
        out.push_traffic_bytes(&frame(20, 1)).unwrap();
        out.push_traffic_bytes(&frame(20, 3)).unwrap();
        out.consume(5);
        out.push_protocol(&frame(12, 2)).unwrap();
        let chunks = out.chunks();
        let mut wire = Vec::new();
        let written = wire.write_vectored(&chunks.io_slices()).unwrap();
        assert_eq!(written, chunks.len());
        assert_eq!(wire, flat(&out));
        out.consume(written);
        assert!(out.chunks().is_empty());
    }

    #[test]
    fn protocol_lane_bound_reports_the_backlog() {
        let mut out = Lanes::new(64, 30);
        out.push_protocol(&frame(20, 1)).unwrap();
        assert_eq!(out.push_protocol(&frame(20, 2)), Err(20));
        out.consume(20);
        out.push_protocol(&frame(20, 2)).unwrap();
    }

    #[test]
    fn the_traffic_lane_is_held_only_while_traffic_waits() {
        let mut out = Lanes::new(64, 1024);
        assert!(!out.queue.holds_lane());
        out.push_traffic_bytes(&frame(30, 1)).unwrap();
        out.push_protocol(&frame(12, 2)).unwrap();
        assert!(out.queue.holds_lane());
        out.consume(12 + 29);
        assert!(out.queue.holds_lane(), "one byte of traffic left");
        out.consume(1);
        assert!(!out.queue.holds_lane());
        assert_eq!(out.pool.spares(), 1);
        // A frame that cannot fit an empty lane takes none.
        assert_eq!(out.push_traffic_bytes(&frame(100, 3)), Err(PushError::Full));
        assert!(!out.queue.holds_lane());
        assert_eq!(out.pool.spares(), 1);
    }

    #[test]
    fn a_grown_protocol_lane_gives_its_memory_back_once_empty() {
        let mut out = Lanes::new(64, 1 << 20);
        out.push_protocol(&frame(100, 1)).unwrap();
        out.consume(100);
        assert!(out.queue.protocol.capacity() >= 100, "a small lane is kept");
        for _ in 0..100 {
            out.push_protocol(&frame(100, 1)).unwrap();
        }
        assert!(out.queue.protocol.capacity() > PROTOCOL_LANE_KEEP);
        out.consume(100 * 99);
        assert!(out.queue.protocol.capacity() > PROTOCOL_LANE_KEEP);
        out.consume(100);
        assert_eq!(out.queue.protocol.capacity(), 0);
    }
}
