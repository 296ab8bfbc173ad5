//! The redial schedule of one static peer, as a pure function of the
//! instants it is given (so it is tested without sleeping).

use std::time::{Duration, Instant};

/// Stands in for a delay too long to add to an instant: the peer is then
/// effectively never redialled.
const UNREPRESENTABLE_DELAY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The delays between attempts: `initial`, doubling after each consecutive
/// failure, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The first delay, and the delay again after a successful handshake.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for BackoffPolicy {
    /// 1 s doubling up to 1 h.
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60 * 60),
        }
    }
}

impl BackoffPolicy {
    /// The delay after `streak` consecutive retries:
    /// `min(initial × 2^streak, max)`.
    pub fn delay(&self, streak: u32) -> Duration {
        let factor = 1u32.checked_shl(streak).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// When a static peer is next due to be dialled.
///
/// A new peer is due at once. Each failed attempt, and each disconnect,
/// schedules the next attempt one delay later, and the delay doubles with
/// every retry in a row; a successful handshake resets it to the initial
/// delay, so the redial after a disconnect waits `initial`.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    streak: u32,
    next_attempt: Instant,
}

impl Backoff {
    /// A schedule due at `now`.
    pub fn new(policy: BackoffPolicy, now: Instant) -> Backoff {
        Backoff {
            policy,
            streak: 0,
            next_attempt: now,
        }
    }

    /// Whether an attempt is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.next_attempt
    }

    /// When the next attempt is due.
    pub fn next_attempt(&self) -> Instant {
        self.next_attempt
    }

    /// An attempt failed, or an established peering ended, at `now`:
    /// schedules the next attempt and returns the delay until it.
    pub fn retry_later(&mut self, now: Instant) -> Duration {
        let delay = self.policy.delay(self.streak);
        self.streak = self.streak.saturating_add(1);
        self.next_attempt = now
            .checked_add(delay)
            .or_else(|| now.checked_add(UNREPRESENTABLE_DELAY))
            .unwrap_or(now);
        delay
    }

    /// A handshake succeeded: the next retry waits the initial delay.
    pub fn succeeded(&mut self) {
        self.streak = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn failures_double_from_one_second_up_to_one_hour() {
        let start = Instant::now();
        let mut backoff = Backoff::new(BackoffPolicy::default(), start);
        assert!(backoff.is_due(start));
        let mut now = start;
        let mut delays = Vec::new();
        for _ in 0..16 {
            let delay = backoff.retry_later(now);
            assert_eq!(backoff.next_attempt(), now + delay);
            assert!(!backoff.is_due(now + delay - Duration::from_millis(1)));
            assert!(backoff.is_due(now + delay));
            delays.push(delay.as_secs());
            now += delay;
        }
        assert_eq!(
            delays,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600, 3600, 3600]
        );
    }

    #[test]
    fn success_resets_the_delay_to_one_second() {
        let start = Instant::now();
        let mut backoff = Backoff::new(BackoffPolicy::default(), start);
        for _ in 0..5 {
            backoff.retry_later(start);
        }
        assert_eq!(backoff.retry_later(start), 32 * SECOND);
        backoff.succeeded();
        // The peering later ends: redial one second after that.
        let disconnected = start + 600 * SECOND;
        assert_eq!(backoff.retry_later(disconnected), SECOND);
        assert_eq!(backoff.next_attempt(), disconnected + SECOND);
        // And if that fails, the doubling starts again.
        assert_eq!(backoff.retry_later(disconnected + SECOND), 2 * SECOND);
    }

    #[test]
    fn delay_saturates_for_long_streaks() {
        let policy = BackoffPolicy::default();
        assert_eq!(policy.delay(31), policy.max);
        assert_eq!(policy.delay(32), policy.max);
        assert_eq!(policy.delay(u32::MAX), policy.max);
        let huge = BackoffPolicy {
            initial: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(huge.delay(3), Duration::MAX);
        let start = Instant::now();
        let mut backoff = Backoff::new(huge, start);
        assert_eq!(backoff.retry_later(start), Duration::MAX);
        assert!(!backoff.is_due(start + Duration::from_secs(365 * 24 * 60 * 60)));
    }

    #[test]
    fn custom_policy_scales_the_schedule() {
        let policy = BackoffPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(300),
        };
        let delays: Vec<u128> = (0..5)
            .map(|streak| policy.delay(streak).as_millis())
            .collect();
        assert_eq!(delays, [50, 100, 200, 300, 300]);
    }
}
