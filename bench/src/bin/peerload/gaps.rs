//! The longest silence of the daemon on one peering.

use std::time::{Duration, Instant};

/// Tracks the largest gap between frames received on a peering, counting
/// from when the handshake completed.
#[derive(Debug, Clone, Copy)]
pub struct FrameGaps {
    last: Instant,
    largest: Duration,
}

impl FrameGaps {
    /// No frame yet; the first gap runs from `start`.
    pub fn starting(start: Instant) -> FrameGaps {
        FrameGaps {
            last: start,
            largest: Duration::ZERO,
        }
    }

    /// Frames arrived at `at`.
    pub fn frames_at(&mut self, at: Instant) {
        self.largest = self.largest.max(at.saturating_duration_since(self.last));
        self.last = self.last.max(at);
    }

    /// The largest gap, counting the silence from the last frame to `end`
    /// as a gap too.
    pub fn largest_until(&self, end: Instant) -> Duration {
        self.largest.max(end.saturating_duration_since(self.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_gap_between_frames_wins() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut gaps = FrameGaps::starting(start);
        gaps.frames_at(at(1_000));
        gaps.frames_at(at(4_100));
        gaps.frames_at(at(7_000));
        assert_eq!(gaps.largest_until(at(7_500)), Duration::from_millis(3_100));
    }

    #[test]
    fn silence_up_to_the_end_counts() {
        let start = Instant::now();
        let mut gaps = FrameGaps::starting(start);
        gaps.frames_at(start + Duration::from_millis(500));
        assert_eq!(
            gaps.largest_until(start + Duration::from_millis(5_500)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn the_first_gap_runs_from_the_handshake() {
        let start = Instant::now();
        let mut gaps = FrameGaps::starting(start);
        gaps.frames_at(start + Duration::from_millis(2_000));
        gaps.frames_at(start + Duration::from_millis(2_100));
        assert_eq!(
            gaps.largest_until(start + Duration::from_millis(2_200)),
            Duration::from_secs(2)
        );
    }
}
