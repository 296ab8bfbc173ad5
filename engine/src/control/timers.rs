//! Timers: when the router next needs the caller, and what runs then.

use super::events::RemovalReason;
use super::peers::Port;
use super::time::{Millis, KEEPALIVE_INTERVAL, PEER_TIMEOUT};
use super::Router;
use crate::wire::{emit_keepalive, HEADER_LEN};

impl Router {
    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    ///
    /// Always `Some`: SNEK maintenance ticks every second. It costs the
    /// same with ten thousand peerings as with one: the peerings' own
    /// deadlines are reckoned when the timers run. Between runs, traffic
    /// only moves them later, so the answer may come early but never late.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mut next = self.tree.next_maintenance.min(self.snek.next_tick);
        for deadline in [self.tree.reparent_at, self.broadcasts.next_send]
            .into_iter()
            .flatten()
        {
            next = next.min(deadline);
        }
        if self.config.keepalives {
            next = next.min(self.peers.earliest_deadline());
        }
        Some(next)
    }

    /// Runs everything due at `now`: dead peers are removed, the re-parent
    /// wait ends, root re-announcement, SNEK maintenance, the periodic
    /// broadcast, then keepalives on peerings that sent nothing for 3 s.
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.config.keepalives {
            let dead: Vec<Port> = self
                .peers
                .iter()
                .filter(|(_, p)| now.has_elapsed(p.last_received, PEER_TIMEOUT))
                .map(|(port, _)| port)
                .collect();
            for port in dead {
                self.detach_peer(port, RemovalReason::Timeout, now);
            }
        }
        if self.tree.reparent_at.is_some_and(|at| now >= at) {
            self.end_reparent_wait(now);
        }
        if now >= self.tree.next_maintenance {
            self.maintain_tree(now);
        }
        if now >= self.snek.next_tick {
            self.snek_tick(now);
        }
        if self.broadcasts.next_send.is_some_and(|at| now >= at) {
            self.maintain_broadcasts(now);
        }
        if self.config.keepalives {
            self.send_keepalives(now);
            self.peers.refresh_deadline();
        }
    }

    fn send_keepalives(&mut self, now: Millis) {
        let idle: Vec<Port> = self
            .peers
            .iter()
            .filter(|(_, p)| now.has_elapsed(p.last_sent, KEEPALIVE_INTERVAL))
            .map(|(port, _)| port)
            .collect();
        for port in idle {
            let mut frame = vec![0; HEADER_LEN];
            if emit_keepalive(&mut frame).is_ok() {
                self.queue(port, frame, now);
            }
        }
    }
}
