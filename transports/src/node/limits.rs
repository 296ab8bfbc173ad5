//! Limits on established peerings: in total, per source address and per
//! peer key, checked by the control thread when a peering comes in.
//!
//! Static peers the operator configured are counted but never refused;
//! every other peering (accepted, attached by the embedding program, or a
//! conduit) is refused when it would go past a limit, and the refusal is
//! counted and logged (at most one line per [`LOG_EVERY`], with the counts
//! since the last).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use pinecone_engine::wire::PublicKey;
use tracing::warn;

use crate::admission::{Source, LOG_EVERY};

/// File descriptors kept free of peerings when the peering limit is
/// derived from the open-file limit: listeners, dials, handshakes being
/// set up, the I/O drivers' own descriptors and the host program's.
pub const RESERVED_DESCRIPTORS: usize = 512;

/// Limits on established peerings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLimits {
    /// Peerings in total. By default the open-file limit (as it is when
    /// the configuration is made) less [`RESERVED_DESCRIPTORS`], and at
    /// least 64: a peering holds one descriptor (a dialled WebSocket
    /// three).
    pub max_peers: usize,
    /// Peerings from one source: an IPv4 address, or an IPv6 /64 (32 by
    /// default; many hosts can share an address behind NAT).
    pub max_per_source: usize,
    /// Peerings with one peer key (8 by default: a peer may reach us over
    /// several links, but not over thousands).
    pub max_per_key: usize,
}

impl Default for PeerLimits {
    fn default() -> Self {
        PeerLimits {
            max_peers: max_peers_for(open_file_limit()),
            max_per_source: 32,
            max_per_key: 8,
        }
    }
}

/// The default peering limit under an open-file limit of `files`.
pub(crate) fn max_peers_for(files: Option<u64>) -> usize {
    let files = files.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    files.saturating_sub(RESERVED_DESCRIPTORS).max(64)
}

/// The soft open-file limit, `None` when unlimited or unknown.
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Raises this process's soft open-file limit to its hard limit, so that a
/// backbone node can hold as many peerings as the system lets it; returns
/// the limit now in force (`None`: unlimited).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if setrlimit(Resource::Nofile, limit).is_err() {
            return getrlimit(Resource::Nofile).current;
        }
    }
    limit.current
}

/// Why a peering was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRefusal {
    /// The node has [`max_peers`](PeerLimits::max_peers) peerings.
    Total,
    /// Its source has [`max_per_source`](PeerLimits::max_per_source).
    Source,
    /// Its key has [`max_per_key`](PeerLimits::max_per_key).
    Key,
}

impl fmt::Display for PeerRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRefusal::Total => "the node has its most peerings",
            PeerRefusal::Source => "its address has its most peerings",
            PeerRefusal::Key => "its key has its most peerings",
        })
    }
}

/// Counts of peerings refused, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PeerRefusals {
    /// Refused at the total limit.
    pub total: u64,
    /// Refused at the per-source limit.
    pub source: u64,
    /// Refused at the per-key limit.
    pub key: u64,
}

/// What a peering is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) source: Option<Source>,
    pub(crate) key: PublicKey,
}

/// The established peerings' counts, against the limits.
#[derive(Debug)]
pub(crate) struct PeerCounts {
    limits: PeerLimits,
    total: usize,
    by_source: HashMap<Source, usize>,
    by_key: HashMap<PublicKey, usize>,
    /// Peerings counted in so far.
    admitted: u64,
    refusals: PeerRefusals,
    unlogged: PeerRefusals,
    logged_at: Option<Instant>,
}

impl PeerCounts {
    /// No peerings yet, under `limits`.
    pub(crate) fn new(limits: PeerLimits) -> PeerCounts {
        PeerCounts {
            limits,
            total: 0,
            by_source: HashMap::new(),
            by_key: HashMap::new(),
            admitted: 0,
            refusals: PeerRefusals::default(),
            unlogged: PeerRefusals::default(),
            logged_at: None,
        }
    }

    /// Established peerings.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Refusals so far.
    pub(crate) fn refusals(&self) -> PeerRefusals {
        self.refusals
    }

    /// Peerings admitted so far, static peers included.
    pub(crate) fn admitted(&self) -> u64 {
        self.admitted
    }

    /// Counts a new peering from `remote` with `key`, or refuses it
    /// (counted and logged) unless it is `exempt`.
    pub(crate) fn admit(
        &mut self,
        remote: Option<IpAddr>,
        key: PublicKey,
        exempt: bool,
    ) -> Result<Counted, PeerRefusal> {
        let source = remote.map(Source::of);
        if !exempt {
            if let Err(refusal) = self.check(source, &key) {
                self.refused(refusal, remote, &key);
                return Err(refusal);
            }
        }
        self.total += 1;
        self.admitted += 1;
        if let Some(source) = source {
            *self.by_source.entry(source).or_insert(0) += 1;
        }
        *self.by_key.entry(key).or_insert(0) += 1;
        Ok(Counted { source, key })
    }

    fn check(&self, source: Option<Source>, key: &PublicKey) -> Result<(), PeerRefusal> {
        if self.total >= self.limits.max_peers {
            return Err(PeerRefusal::Total);
        }
        let from_source = source.map_or(0, |s| self.by_source.get(&s).copied().unwrap_or(0));
        if from_source >= self.limits.max_per_source {
            return Err(PeerRefusal::Source);
        }
        if self.by_key.get(key).copied().unwrap_or(0) >= self.limits.max_per_key {
            return Err(PeerRefusal::Key);
        }
        Ok(())
    }

    /// Forgets a peering counted by `admit`.
    pub(crate) fn release(&mut self, counted: Counted) {
        self.total = self.total.saturating_sub(1);
        if let Some(source) = counted.source {
            decrement(&mut self.by_source, &source);
        }
        decrement(&mut self.by_key, &counted.key);
    }

    fn refused(&mut self, refusal: PeerRefusal, remote: Option<IpAddr>, key: &PublicKey) {
        for counts in [&mut self.refusals, &mut self.unlogged] {
            match refusal {
                PeerRefusal::Total => counts.total += 1,
                PeerRefusal::Source => counts.source += 1,
                PeerRefusal::Key => counts.key += 1,
            }
        }
        if self.logged_at.is_some_and(|at| at.elapsed() < LOG_EVERY) {
            return;
        }
        let PeerRefusals {
            total,
            source,
            key: by_key,
        } = self.unlogged;
        warn!(
            last_from = ?remote, last_key = %key, last_reason = %refusal,
            at_total_limit = total, at_source_limit = source, at_key_limit = by_key,
            limits = ?self.limits,
            "refused peerings over the limits"
        );
        self.unlogged = PeerRefusals::default();
        self.logged_at = Some(Instant::now());
    }
}

fn decrement<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_peers: usize, max_per_source: usize, max_per_key: usize) -> PeerLimits {
        PeerLimits {
            max_peers,
            max_per_source,
            max_per_key,
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect(text))
    }

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    #[test]
    fn each_limit_refuses_and_releasing_makes_room() {
        let mut counts = PeerCounts::new(limits(3, 2, 1));
        let a = counts.admit(ip("10.0.0.1"), key(1), false).expect("first");
        assert_eq!(
            counts.admit(ip("10.0.0.2"), key(1), false),
            Err(PeerRefusal::Key)
        );
        let b = counts
            .admit(ip("10.0.0.1"), key(2), false)
            .expect("second from .1");
        assert_eq!(
            counts.admit(ip("10.0.0.1"), key(3), false),
            Err(PeerRefusal::Source)
        );
        let _c = counts.admit(ip("10.0.0.3"), key(3), false).expect("third");
        assert_eq!(
            counts.admit(ip("10.0.0.4"), key(4), false),
            Err(PeerRefusal::Total)
        );
        assert_eq!(counts.total(), 3);
        counts.release(a);
        counts.release(b);
        counts
            .admit(ip("10.0.0.1"), key(1), false)
            .expect("room again");
        let refusals = counts.refusals();
        assert_eq!((refusals.total, refusals.source, refusals.key), (1, 1, 1));
        assert_eq!(counts.admitted(), 4, "refused ones are not admitted");
    }

    #[test]
    fn exempt_peerings_are_counted_but_never_refused() {
        let mut counts = PeerCounts::new(limits(1, 1, 1));
        counts.admit(ip("10.0.0.1"), key(1), false).expect("first");
        counts
            .admit(ip("10.0.0.1"), key(1), true)
            .expect("a static peer");
        assert_eq!(counts.total(), 2);
        assert_eq!(counts.admit(None, key(2), false), Err(PeerRefusal::Total));
    }

    #[test]
    fn the_default_leaves_room_under_the_file_limit() {
        assert_eq!(max_peers_for(Some(1024)), 1024 - RESERVED_DESCRIPTORS);
        assert_eq!(max_peers_for(Some(100)), 64);
        assert_eq!(max_peers_for(None), usize::MAX - RESERVED_DESCRIPTORS);
        assert!(PeerLimits::default().max_per_source < PeerLimits::default().max_peers);
    }
}
