//! Settings of a [`Router`](super::Router), including the caps that bound
//! its memory under hostile input.

/// Settings of a [`Router`](super::Router).
///
/// Every cap bounds a table that remote nodes can make grow; each field says
/// what happens when the cap is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// Decrement the hop limit of every forwarded traffic frame and drop it
    /// at 1. Off by default, as in the reference.
    pub hop_limiting: bool,
    /// Send keepalives after 3 s of silence on a peering, and remove a peer
    /// after 5 s without receiving anything from it. On by default.
    pub keepalives: bool,
    /// Flood a wakeup broadcast every 60 s and send one to each newly
    /// announced peer. On by default; received broadcasts are handled and
    /// forwarded either way.
    pub wakeup_broadcasts: bool,
    /// Most signature entries a received tree announcement may carry (its
    /// sender's depth in the tree plus one). A longer one is refused before
    /// any of its signatures is checked and closes the peering
    /// ([`AnnouncementError::TooManyEntries`](crate::wire::AnnouncementError::TooManyEntries)):
    /// a 64 KiB frame holds about 675 entries, each a signature check and a
    /// key in every parent selection and routing table rebuild. The default,
    /// 128, is far deeper than any real tree; a node whose parent's
    /// announcement is at the cap still follows it, but its children (with
    /// the same cap) refuse the longer one it sends them.
    pub max_announcement_entries: usize,
    /// Most SNEK path entries kept. At the cap a bootstrap for a key with no
    /// entry is dropped (not stored, not forwarded) and counted; entries
    /// already present are still refreshed, and space frees as entries
    /// expire after 10 s without a refresh.
    pub max_paths: usize,
    /// Most keys remembered for wakeup broadcast dedupe. At the cap the
    /// entry seen longest ago is forgotten to make room. Each entry keeps
    /// the last accepted payload, shared with every other router in the
    /// process that accepted it, so repeats skip the signature check; an
    /// entry takes about 160 bytes (2.6 MB at the default cap) plus about
    /// 150 bytes per distinct payload kept.
    pub max_seen_broadcasts: usize,
    /// Most entries in the coordinates cache. At the cap the entry learned
    /// longest ago is evicted to make room.
    pub max_cached_coords: usize,
    /// Most events waiting in [`poll_event`](super::Router::poll_event). At
    /// the cap the oldest event is discarded and counted.
    pub max_pending_events: usize,
    /// Most datagrams waiting in
    /// [`poll_delivery`](super::Router::poll_delivery). At the cap a newly
    /// arrived datagram is dropped and counted.
    pub max_pending_deliveries: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            hop_limiting: false,
            keepalives: true,
            wakeup_broadcasts: true,
            max_announcement_entries: 128,
            max_paths: 32_768,
            max_seen_broadcasts: 16_384,
            max_cached_coords: 4_096,
            max_pending_events: 16_384,
            max_pending_deliveries: 1_024,
        }
    }
}
