//! Admission control for inbound connections: which are set up at all, and
//! how many are being set up at once, per source and in total.
//!
//! A connection is admitted when it is accepted and holds its place until
//! its setup (HTTP request, upgrade or manhole answer, handshake) ends. A
//! source is an IPv4 address or an IPv6 /64 (an IPv4-mapped IPv6 address
//! counts as its IPv4 address), so that one host cannot take every place:
//! while it holds its share, connections from everyone else still get in.
//! Refused connections are closed at once, counted, and logged at most once
//! per [`LOG_EVERY`], with the counts since the last line.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::cidr::Cidr;

/// The least time between two log lines about refused connections.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Who a connection counts against: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// An IPv4 address (or an IPv4-mapped IPv6 one).
    V4(u32),
    /// The top 64 bits of an IPv6 address.
    V6(u64),
}

impl Source {
    /// The source of `address`.
    pub(crate) fn of(address: IpAddr) -> Source {
        match address.to_canonical() {
            IpAddr::V4(v4) => Source::V4(v4.to_bits()),
            IpAddr::V6(v6) => Source::V6((v6.to_bits() >> 64) as u64),
        }
    }
}

/// Why an inbound connection was closed before its setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address is on the deny list.
    Denied,
    /// Its source has as many connections being set up as it may.
    SourceBusy,
    /// As many connections as allowed are being set up.
    AllBusy,
    /// The node has as many peerings as it may.
    PeerLimit,
}

impl Refusal {
    const ALL: [Refusal; 4] = [
        Refusal::Denied,
        Refusal::SourceBusy,
        Refusal::AllBusy,
        Refusal::PeerLimit,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// What the log calls it.
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::Denied => "denied by address",
            Refusal::SourceBusy => "over the per-address handshake limit",
            Refusal::AllBusy => "over the total handshake limit",
            Refusal::PeerLimit => "over the peering limit",
        }
    }
}

/// How many inbound connections were admitted and refused, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AdmissionStats {
    /// Connections admitted to set up.
    pub admitted: u64,
    /// Connections closed at once because their address is denied.
    pub denied: u64,
    /// Connections closed at once because their source was at its limit.
    pub source_busy: u64,
    /// Connections closed at once because the total limit was reached.
    pub all_busy: u64,
    /// Connections closed at once because the node had its most peerings.
    pub peer_limit: u64,
    /// Connections being set up now.
    pub in_flight: usize,
}

/// The node's count of established peerings and its bound, shared with the
/// admission of inbound connections so that a full node refuses before
/// any handshake work.
#[derive(Debug, Clone)]
pub(crate) struct PeerGate {
    /// Established peerings now.
    pub(crate) established: Arc<AtomicUsize>,
    /// The most the node takes.
    pub(crate) max: usize,
}

impl PeerGate {
    /// A gate that never closes.
    pub(crate) fn open() -> PeerGate {
        PeerGate {
            established: Arc::default(),
            max: usize::MAX,
        }
    }
}

/// Admits inbound connections. Cheap to clone: clones share the counts.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    max_total: usize,
    max_per_source: usize,
    deny: Vec<Cidr>,
    gate: PeerGate,
    in_flight: Mutex<InFlight>,
    admitted: AtomicU64,
    refused: [AtomicU64; 4],
    log: Mutex<RefusalLog>,
}

#[derive(Debug, Default)]
struct InFlight {
    total: usize,
    by_source: HashMap<Source, usize>,
}

/// Refusals since the last log line.
#[derive(Debug)]
struct RefusalLog {
    /// When the last line was written; `None` before the first.
    logged_at: Option<Instant>,
    counts: [u64; 4],
    last_address: Option<IpAddr>,
}

impl RefusalLog {
    /// Counts a refusal at `now`; returns the summary to log when a line
    /// is due (the first refusal, then at most one per [`LOG_EVERY`]).
    fn record(&mut self, refusal: Refusal, address: IpAddr, now: Instant) -> Option<String> {
        if let Some(count) = self.counts.get_mut(refusal.index()) {
            *count += 1;
        }
        self.last_address = Some(address);
        if self
            .logged_at
            .is_some_and(|at| now.saturating_duration_since(at) < LOG_EVERY)
        {
            return None;
        }
        let summary: Vec<String> = Refusal::ALL
            .iter()
            .filter_map(|r| {
                let n = self.counts.get(r.index()).copied().unwrap_or(0);
                (n > 0).then(|| format!("{n} {}", r.describe()))
            })
            .collect();
        self.logged_at = Some(now);
        self.counts = [0; 4];
        Some(summary.join(", "))
    }
}

/// One admitted connection's place, given back when dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    shared: Arc<Shared>,
    source: Source,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Admission {
    /// At most `max_total` connections set up at once, `max_per_source`
    /// of them from one source; none from `deny`; none while `gate` is
    /// full.
    pub(crate) fn new(
        max_total: usize,
        max_per_source: usize,
        deny: Vec<Cidr>,
        gate: PeerGate,
    ) -> Admission {
        Admission {
            shared: Arc::new(Shared {
                max_total,
                max_per_source,
                deny,
                gate,
                in_flight: Mutex::default(),
                admitted: AtomicU64::new(0),
                refused: Default::default(),
                log: Mutex::new(RefusalLog {
                    logged_at: None,
                    counts: [0; 4],
                    last_address: None,
                }),
            }),
        }
    }

    /// Admits a connection from `address`, or refuses it (counted and
    /// logged).
    pub(crate) fn admit(&self, address: IpAddr) -> Result<Admitted, Refusal> {
        let result = self.try_admit(address);
        match result {
            Ok(_) => {
                self.shared.admitted.fetch_add(1, Ordering::Relaxed);
            }
            Err(refusal) => self.refused(refusal, address),
        }
        result
    }

    fn try_admit(&self, address: IpAddr) -> Result<Admitted, Refusal> {
        let shared = &self.shared;
        if shared.deny.iter().any(|range| range.contains(address)) {
            return Err(Refusal::Denied);
        }
        if shared.gate.established.load(Ordering::Relaxed) >= shared.gate.max {
            return Err(Refusal::PeerLimit);
        }
        let source = Source::of(address);
        let mut in_flight = lock(&shared.in_flight);
        if in_flight.total >= shared.max_total {
            return Err(Refusal::AllBusy);
        }
        let count = in_flight.by_source.entry(source).or_insert(0);
        if *count >= shared.max_per_source {
            return Err(Refusal::SourceBusy);
        }
        *count += 1;
        in_flight.total += 1;
        Ok(Admitted {
            shared: Arc::clone(shared),
            source,
        })
    }

    /// Counts a refusal, and logs the refusals so far if the last line was
    /// long enough ago.
    fn refused(&self, refusal: Refusal, address: IpAddr) {
        let shared = &self.shared;
        if let Some(counter) = shared.refused.get(refusal.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let line = lock(&shared.log).record(refusal, address, Instant::now());
        if let Some(summary) = line {
            warn!(
                last_from = %address,
                "refused inbound connections since the last such line: {summary}"
            );
        }
    }

    /// Admissions and refusals so far.
    pub(crate) fn stats(&self) -> AdmissionStats {
        let shared = &self.shared;
        let refused = |r: Refusal| {
            shared
                .refused
                .get(r.index())
                .map_or(0, |c| c.load(Ordering::Relaxed))
        };
        AdmissionStats {
            admitted: shared.admitted.load(Ordering::Relaxed),
            denied: refused(Refusal::Denied),
            source_busy: refused(Refusal::SourceBusy),
            all_busy: refused(Refusal::AllBusy),
            peer_limit: refused(Refusal::PeerLimit),
            in_flight: lock(&shared.in_flight).total,
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.shared.in_flight);
        in_flight.total = in_flight.total.saturating_sub(1);
        if let Some(count) = in_flight.by_source.get_mut(&self.source) {
            *count -= 1;
            if *count == 0 {
                in_flight.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect(text)
    }

    fn admission(total: usize, per_source: usize) -> Admission {
        Admission::new(total, per_source, Vec::new(), PeerGate::open())
    }

    #[test]
    fn one_source_cannot_take_every_place() {
        let admission = admission(4, 2);
        let held: Vec<_> = (0..2)
            .map(|_| admission.admit(ip("127.0.0.2")).expect("within its share"))
            .collect();
        assert_eq!(
            admission.admit(ip("127.0.0.2")).map(drop),
            Err(Refusal::SourceBusy)
        );
        let honest = admission.admit(ip("127.0.0.1")).expect("another source");
        drop(held);
        let again = admission.admit(ip("127.0.0.2")).expect("places given back");
        drop((honest, again));
        let stats = admission.stats();
        assert_eq!(
            (stats.admitted, stats.source_busy, stats.in_flight),
            (4, 1, 0)
        );
    }

    #[test]
    fn the_total_bounds_every_source_together() {
        let admission = admission(3, 2);
        let _held: Vec<_> = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
            .iter()
            .map(|a| admission.admit(ip(a)).expect("room"))
            .collect();
        assert_eq!(
            admission.admit(ip("10.0.0.4")).map(drop),
            Err(Refusal::AllBusy)
        );
        assert_eq!(admission.stats().all_busy, 1);
    }

    #[test]
    fn sources_are_ipv4_addresses_and_ipv6_slash_64s() {
        assert_eq!(
            Source::of(ip("::ffff:192.0.2.1")),
            Source::of(ip("192.0.2.1"))
        );
        assert_eq!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:3::1"))
        );
        let admission = admission(8, 1);
        let _first = admission.admit(ip("2001:db8::1")).expect("first");
        assert_eq!(
            admission.admit(ip("2001:db8::2")).map(drop),
            Err(Refusal::SourceBusy),
            "same /64"
        );
    }

    #[test]
    fn refusals_are_logged_at_most_once_per_interval_with_their_counts() {
        let mut log = RefusalLog {
            logged_at: None,
            counts: [0; 4],
            last_address: None,
        };
        let start = Instant::now();
        let from = ip("127.0.0.2");
        let first = log.record(Refusal::SourceBusy, from, start);
        assert_eq!(
            first.as_deref(),
            Some("1 over the per-address handshake limit")
        );
        for i in 1..1_000 {
            let at = start + Duration::from_millis(i);
            assert_eq!(log.record(Refusal::SourceBusy, from, at), None);
        }
        assert_eq!(
            log.record(Refusal::Denied, from, start + LOG_EVERY / 2),
            None
        );
        let next = log.record(Refusal::SourceBusy, from, start + LOG_EVERY);
        assert_eq!(
            next.as_deref(),
            Some("1 denied by address, 1000 over the per-address handshake limit")
        );
    }

    #[test]
    fn denied_ranges_and_a_full_node_are_refused() {
        let gate = PeerGate {
            established: Arc::new(AtomicUsize::new(0)),
            max: 1,
        };
        let deny = vec!["127.0.0.0/24".parse().expect("range")];
        let admission = Admission::new(8, 8, deny, gate.clone());
        assert_eq!(
            admission.admit(ip("127.0.0.7")).map(drop),
            Err(Refusal::Denied)
        );
        assert!(admission.admit(ip("127.0.1.7")).is_ok());
        gate.established.store(1, Ordering::Relaxed);
        assert_eq!(
            admission.admit(ip("127.0.1.7")).map(drop),
            Err(Refusal::PeerLimit)
        );
        let stats = admission.stats();
        assert_eq!((stats.denied, stats.peer_limit, stats.admitted), (1, 1, 1));
    }
}
