//! The reference's runtime switches: hop limiting of forwarded traffic
//! and the periodic wakeup broadcast, turned on and off while the router
//! runs (the reference's `EnableHopLimiting`/`DisableHopLimiting` and
//! `EnableWakeupBroadcasts`/`DisableWakeupBroadcasts`, which Dendrite
//! calls).

use super::time::Millis;
use super::Router;

impl Router {
    /// Turns hop limiting of forwarded traffic on or off: when on, every
    /// traffic frame this node forwards has its hop limit decremented and
    /// is dropped at 1 (counted as a hop-limit drop). Takes effect in the
    /// forwarding plane with the next published routing table
    /// ([`take_table_update`](Self::take_table_update)). The starting
    /// value is [`RouterConfig::hop_limiting`](super::RouterConfig::hop_limiting), off
    /// by default as in the reference.
    pub fn set_hop_limiting(&mut self, enabled: bool) {
        self.config.hop_limiting = enabled;
        self.table.set_hop_limiting(enabled);
    }

    /// Whether forwarded traffic is hop limited.
    pub fn hop_limiting(&self) -> bool {
        self.config.hop_limiting
    }

    /// Turns the periodic wakeup broadcast on or off, as the reference's
    /// switches do. Turning it on (also when it is already on) floods a
    /// broadcast at once, forgets broadcasts seen more than 180 s ago, and
    /// floods again every 60 s from now. Turning it off stops the periodic
    /// flood (and that forgetting, which the dedupe table's cap bounds in
    /// the meantime).
    ///
    /// Like the reference's switches, this leaves alone the broadcast sent
    /// to each peer on its first announcement, which follows
    /// [`RouterConfig::wakeup_broadcasts`](super::RouterConfig::wakeup_broadcasts), and
    /// received broadcasts, which are handled and forwarded either way.
    pub fn set_wakeup_broadcasts(&mut self, enabled: bool, now: Millis) {
        if enabled {
            self.maintain_broadcasts(now);
        } else {
            self.broadcasts.next_send = None;
        }
    }

    /// Whether the periodic wakeup broadcast is on.
    pub fn wakeup_broadcasts(&self) -> bool {
        self.broadcasts.next_send.is_some()
    }
}
