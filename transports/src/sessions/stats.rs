//! What the session endpoint refused and dropped, counted.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts kept by the session endpoint since it started
/// (`Node::session_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Incoming attempts refused because the limits on handshakes or on
    /// sessions were reached, or no protocol is listened for.
    pub refused_busy: u64,
    /// Incoming attempts answered with a Retry (address validation).
    pub retries: u64,
    /// Incoming attempts whose handshake failed: wrong or no ALPN, no
    /// client certificate, a certificate not matching the source key, a
    /// chain, a bad signature, or no answer in time.
    pub failed_handshakes: u64,
    /// Dials whose handshake failed (including a server certificate that
    /// does not hold the key dialled).
    pub failed_dials: u64,
    /// Sessions closed because a newer one with the same key and protocol
    /// replaced them.
    pub replaced: u64,
    /// Streams refused: no listener for their protocol or its accept
    /// backlog full.
    pub refused_streams: u64,
    /// Datagrams dropped because the session thread's queue was full.
    pub datagrams_dropped: u64,
}

/// The live counters behind [`SessionStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) refused_busy: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) failed_handshakes: AtomicU64,
    pub(crate) failed_dials: AtomicU64,
    pub(crate) replaced: AtomicU64,
    pub(crate) refused_streams: AtomicU64,
    pub(crate) datagrams_dropped: AtomicU64,
}

/// Adds one to `counter`.
pub(crate) fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counts now.
    pub(crate) fn snapshot(&self) -> SessionStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SessionStats {
            refused_busy: get(&self.refused_busy),
            retries: get(&self.retries),
            failed_handshakes: get(&self.failed_handshakes),
            failed_dials: get(&self.failed_dials),
            replaced: get(&self.replaced),
            refused_streams: get(&self.refused_streams),
            datagrams_dropped: get(&self.datagrams_dropped),
        }
    }
}
