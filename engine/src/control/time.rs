//! Time as the caller passes it in, and the protocol's timer values.

use std::time::Duration;

/// Milliseconds on the caller's clock.
///
/// The runtime passes Unix milliseconds from the system clock; a simulator
/// passes virtual time (starting at a fixed epoch such as
/// `1_700_000_000_000`). Bootstrap and broadcast sequence numbers are taken
/// from it, so it should only move forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// The end of time: later than every instant a clock gives.
    pub const NEVER: Millis = Millis(u64::MAX);

    /// `self + duration`, saturating at the end of time.
    pub fn saturating_add(self, duration: Duration) -> Millis {
        Millis(self.0.saturating_add(duration_ms(duration)))
    }

    /// `self - duration`, saturating at zero.
    pub fn saturating_sub(self, duration: Duration) -> Millis {
        Millis(self.0.saturating_sub(duration_ms(duration)))
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Whether at least `duration` has passed from `earlier` to `self`.
    pub fn has_elapsed(self, earlier: Millis, duration: Duration) -> bool {
        self.saturating_since(earlier) >= duration
    }
}

/// Whole milliseconds in `duration`, saturating at `u64::MAX`.
fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Send a keepalive on a peering when nothing else was sent for this long.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(3);
/// A peer is dead when nothing was received from it for this long.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);
/// A root re-announces itself, with its sequence plus one, this often.
pub const ROOT_ANNOUNCE_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// A peer's announcement stops being a parent candidate after this long.
pub const ANNOUNCEMENT_TIMEOUT: Duration = Duration::from_secs(45 * 60);
/// SNEK maintenance (path expiry, descending check, bootstraps) runs this often.
pub const SNEK_TICK: Duration = Duration::from_secs(1);
/// A node with a parent bootstraps this often (sooner after a change).
pub const BOOTSTRAP_INTERVAL: Duration = Duration::from_secs(5);
/// A SNEK path entry expires when not refreshed for this long.
pub const PATH_EXPIRY: Duration = Duration::from_secs(10);
/// Bootstraps are routed only along path entries refreshed within this
/// long: one bootstrap interval and a half. An entry whose bootstrap
/// skipped us once is on its way out (the nodes after us on its path let
/// it expire one by one), so a bootstrap sent along it would end at some
/// node short of its target; and with exactly two intervals to expiry, the
/// moment such an entry expires races its sender's next bootstrap.
pub const PATH_FRESH_FOR_BOOTSTRAPS: Duration = Duration::from_millis(7_500);
/// A traffic frame already following an expired path entry (carrying
/// exactly its watermark) may still use it for this long after it expired;
/// the entry is forgotten after that.
pub const PATH_GRACE: Duration = Duration::from_secs(5);
/// A bootstrap that passed through is sent on again toward a closer key
/// learned later only within this long of its arrival. No longer than
/// [`PATH_GRACE`], so the part of a path it sets up from here never outlives
/// the part before it by more than the grace.
pub const REROUTE_WINDOW: Duration = Duration::from_secs(1);
/// A bootstrap that ended here, or went from here to the peer whose key it
/// was heading for, is sent on again toward a closer key learned later
/// within this long of its arrival: until its sender's next bootstrap is
/// due. Such a key means the node where it ended has the wrong descending
/// node, which only happens while the line settles, so this long window
/// moves no paths on a settled line; where two stretches of the line
/// interleave, it lets each correction re-route the next bootstrap at once.
/// No longer than [`PATH_GRACE`], for the same reason as [`REROUTE_WINDOW`].
pub const REROUTE_WINDOW_AT_END: Duration = BOOTSTRAP_INTERVAL;
/// Cached coordinates are used for this long after they were learned.
pub const COORDS_CACHE_LIFETIME: Duration = Duration::from_secs(60);
/// A node floods a wakeup broadcast this often.
pub const BROADCAST_INTERVAL: Duration = Duration::from_secs(60);
/// A repeat broadcast from the same key within this long is ignored.
pub const BROADCAST_FILTER: Duration = Duration::from_secs(30);
/// A seen broadcast is forgotten after this long.
pub const BROADCAST_EXPIRY: Duration = Duration::from_secs(180);
/// After bad news from the parent, parent selection waits this long.
pub const REPARENT_WAIT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            Millis(5).saturating_sub(Duration::from_millis(9)),
            Millis(0)
        );
        assert_eq!(
            Millis(u64::MAX - 1).saturating_add(Duration::from_secs(1)),
            Millis(u64::MAX)
        );
        assert_eq!(
            Millis(1_000).saturating_add(Duration::from_millis(250)),
            Millis(1_250)
        );
        assert_eq!(
            Millis(3).saturating_since(Millis(10)),
            Duration::from_millis(0)
        );
    }

    #[test]
    fn elapsed_is_inclusive() {
        let start = Millis(1_000);
        assert!(!Millis(3_999).has_elapsed(start, KEEPALIVE_INTERVAL));
        assert!(Millis(4_000).has_elapsed(start, KEEPALIVE_INTERVAL));
    }
}
