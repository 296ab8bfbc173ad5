//! What discovery has done, for operators and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of multicast discovery since it started, and the interfaces it
/// runs on now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MulticastStats {
    /// The interfaces in use, by name.
    pub interfaces: Vec<String>,
    /// The TCP port beacons invite peers to.
    pub listen_port: u16,
    /// Beacons sent (one per interface and family).
    pub beacons_sent: u64,
    /// Beacons that could not be sent.
    pub send_errors: u64,
    /// Datagrams read from the groups on interfaces in use.
    pub received: u64,
    /// Datagrams that were not beacons (wrong length, port 0) or came from
    /// an address that cannot be dialled; ignored.
    pub malformed: u64,
    /// Datagrams dropped unread over the budget (per second, per source).
    pub rate_limited: u64,
    /// Dials started.
    pub dials: u64,
    /// Dials that failed (connect or handshake), or whose handshake named
    /// another key than the beacon.
    pub dial_failures: u64,
    /// Peerings made by dialling.
    pub dialled: u64,
    /// Peerings accepted on the listener.
    pub accepted: u64,
}

/// The counters, shared by discovery's threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) beacons_sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) dials: AtomicU64,
    pub(crate) dial_failures: AtomicU64,
    pub(crate) dialled: AtomicU64,
    pub(crate) accepted: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counters now, with the interfaces in use and the listener's
    /// port.
    pub(crate) fn snapshot(&self, interfaces: Vec<String>, listen_port: u16) -> MulticastStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MulticastStats {
            interfaces,
            listen_port,
            beacons_sent: read(&self.beacons_sent),
            send_errors: read(&self.send_errors),
            received: read(&self.received),
            malformed: read(&self.malformed),
            rate_limited: read(&self.rate_limited),
            dials: read(&self.dials),
            dial_failures: read(&self.dial_failures),
            dialled: read(&self.dialled),
            accepted: read(&self.accepted),
        }
    }
}
