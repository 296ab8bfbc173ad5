//! How many datagrams discovery reads from the groups: a budget per second
//! for all senders, and a least gap between two from the same address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Source addresses remembered at most; past it, the oldest are forgotten
/// first, and when none is old enough a new source goes unchecked (the
/// budget for all still holds).
const MAX_SOURCES: usize = 4_096;

/// Why a datagram was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overspent {
    /// The budget for all senders is used up for this second.
    Total,
    /// Its source sent one too recently.
    Source,
}

/// The datagram budget.
#[derive(Debug)]
pub(crate) struct Budget {
    per_second: u32,
    min_gap: Duration,
    window_start: Option<Instant>,
    used: u32,
    last_from: HashMap<IpAddr, Instant>,
}

impl Budget {
    /// A budget of `per_second` datagrams a second, one per `min_gap` from
    /// each source.
    pub(crate) fn new(per_second: u32, min_gap: Duration) -> Budget {
        Budget {
            per_second,
            min_gap,
            window_start: None,
            used: 0,
            last_from: HashMap::new(),
        }
    }

    /// Whether a datagram from `source` arriving at `now` may be read; if
    /// so, it is counted.
    pub(crate) fn take(&mut self, source: IpAddr, now: Instant) -> Result<(), Overspent> {
        if self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(1))
        {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used >= self.per_second {
            return Err(Overspent::Total);
        }
        if let Some(last) = self.last_from.get(&source) {
            if now.saturating_duration_since(*last) < self.min_gap {
                return Err(Overspent::Source);
            }
        }
        self.used += 1;
        if self.last_from.len() >= MAX_SOURCES && !self.last_from.contains_key(&source) {
            let gap = self.min_gap;
            self.last_from
                .retain(|_, last| now.saturating_duration_since(*last) < gap);
        }
        if self.last_from.len() < MAX_SOURCES || self.last_from.contains_key(&source) {
            self.last_from.insert(source, now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn one_source_gets_one_datagram_per_gap() {
        let mut budget = Budget::new(100, Duration::from_millis(500));
        let start = Instant::now();
        assert_eq!(budget.take(address(1), start), Ok(()));
        assert_eq!(budget.take(address(1), start), Err(Overspent::Source));
        assert_eq!(
            budget.take(address(1), start + Duration::from_millis(499)),
            Err(Overspent::Source)
        );
        assert_eq!(
            budget.take(address(2), start),
            Ok(()),
            "others still get in"
        );
        assert_eq!(
            budget.take(address(1), start + Duration::from_millis(500)),
            Ok(())
        );
    }

    #[test]
    fn all_sources_share_a_budget_per_second() {
        let mut budget = Budget::new(3, Duration::ZERO);
        let start = Instant::now();
        for n in 0..3 {
            assert_eq!(budget.take(address(n), start), Ok(()));
        }
        assert_eq!(budget.take(address(9), start), Err(Overspent::Total));
        let later = start + Duration::from_secs(1);
        assert_eq!(budget.take(address(9), later), Ok(()));
    }

    #[test]
    fn remembers_a_bounded_number_of_sources() {
        let mut budget = Budget::new(u32::MAX, Duration::from_secs(60));
        let start = Instant::now();
        for n in 0..(MAX_SOURCES as u32 + 100) {
            assert_eq!(budget.take(address(n), start), Ok(()));
        }
        assert!(budget.last_from.len() <= MAX_SOURCES);
    }
}
