//! Which beacons lead to a dial: never our own, never a key already peered
//! on that interface, never a second dial to an address or to a key on an
//! interface while one is in progress, a bounded number at once, and the
//! tie-break between two nodes that hear each other.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pinecone_engine::wire::PublicKey;

/// (key, interface index) pairs followed for the tie-break at most; past
/// it, stale ones are forgotten, and when none is stale a new pair is not
/// followed (its node then waits for the other side to dial).
const MAX_FOLLOWED: usize = 4_096;

/// How long a link whose dial delivered a peering counts as dialled while
/// the node's list of peerings may not show it yet (the list answering a
/// beacon can be taken just before the peering reaches the node).
const SETTLE: Duration = Duration::from_secs(3);

/// What to do about a beacon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Dial it (the dial is now in progress: report its end with
    /// [`DialPolicy::finished`]).
    Dial,
    /// It is ours.
    Own,
    /// The key is already peered on that interface.
    Peered,
    /// A dial to that address, or to that key on that interface, is in
    /// progress, or has just delivered a peering.
    Dialling,
    /// As many dials as allowed are in progress.
    Busy,
    /// The other node has the higher key: it dials us; we wait, up to the
    /// grace.
    TheirTurn,
}

/// A dial in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DialTicket {
    /// The key the beacon named.
    pub(crate) key: PublicKey,
    /// The interface it arrived on.
    pub(crate) interface: u32,
    /// The address dialled.
    pub(crate) address: SocketAddr,
}

/// When a node we wait for was first and last heard with no peering.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    since: Instant,
    last: Instant,
}

/// The dial decisions of one node.
#[derive(Debug)]
pub(crate) struct DialPolicy {
    own_key: PublicKey,
    grace: Duration,
    max_dials: usize,
    addresses: HashSet<SocketAddr>,
    links: HashSet<(PublicKey, u32)>,
    waiting: HashMap<(PublicKey, u32), Waiting>,
    /// Links whose dial delivered a peering, and when.
    settling: HashMap<(PublicKey, u32), Instant>,
}

impl DialPolicy {
    /// The policy of the node with key `own_key`.
    pub(crate) fn new(own_key: PublicKey, grace: Duration, max_dials: usize) -> DialPolicy {
        DialPolicy {
            own_key,
            grace,
            max_dials,
            addresses: HashSet::new(),
            links: HashSet::new(),
            waiting: HashMap::new(),
            settling: HashMap::new(),
        }
    }

    /// Decides about a beacon from `key`, heard on interface `interface`
    /// from `address` (the address to dial) at `now`; `peered` says
    /// whether `key` has a peering in that interface's zone.
    pub(crate) fn consider(
        &mut self,
        key: PublicKey,
        interface: u32,
        address: SocketAddr,
        peered: bool,
        now: Instant,
    ) -> Verdict {
        if key == self.own_key {
            return Verdict::Own;
        }
        let link = (key, interface);
        if peered {
            self.waiting.remove(&link);
            self.settling.remove(&link);
            return Verdict::Peered;
        }
        let settling = self
            .settling
            .get(&link)
            .is_some_and(|at| now.saturating_duration_since(*at) < SETTLE);
        if settling || self.links.contains(&link) || self.addresses.contains(&address) {
            return Verdict::Dialling;
        }
        if key < self.own_key && !self.waited_out(link, now) {
            return Verdict::TheirTurn;
        }
        if self.addresses.len() >= self.max_dials {
            return Verdict::Busy;
        }
        self.addresses.insert(address);
        self.links.insert(link);
        Verdict::Dial
    }

    /// The dial for `ticket` ended at `now`; `delivered` says whether it
    /// handed the node a peering.
    pub(crate) fn finished(&mut self, ticket: &DialTicket, delivered: bool, now: Instant) {
        let link = (ticket.key, ticket.interface);
        self.addresses.remove(&ticket.address);
        self.links.remove(&link);
        self.waiting.remove(&link);
        if delivered {
            self.settling
                .retain(|_, at| now.saturating_duration_since(*at) < SETTLE);
            self.settling.insert(link, now);
        }
    }

    /// Notes that `link`'s node was heard unpeered at `now`; answers
    /// whether that has gone on for the grace. A node not heard for two
    /// graces starts over.
    fn waited_out(&mut self, link: (PublicKey, u32), now: Instant) -> bool {
        let stale = self.grace * 2;
        if let Some(waiting) = self.waiting.get_mut(&link) {
            if now.saturating_duration_since(waiting.last) >= stale {
                waiting.since = now;
            }
            waiting.last = now;
            return now.saturating_duration_since(waiting.since) >= self.grace;
        }
        if self.waiting.len() >= MAX_FOLLOWED {
            self.waiting
                .retain(|_, waiting| now.saturating_duration_since(waiting.last) < stale);
        }
        if self.waiting.len() < MAX_FOLLOWED {
            self.waiting.insert(
                link,
                Waiting {
                    since: now,
                    last: now,
                },
            );
        }
        self.grace.is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOW: PublicKey = PublicKey([1; 32]);
    const MID: PublicKey = PublicKey([2; 32]);
    const HIGH: PublicKey = PublicKey([3; 32]);
    const GRACE: Duration = Duration::from_secs(8);

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    fn ticket(key: PublicKey, interface: u32, port: u16) -> DialTicket {
        DialTicket {
            key,
            interface,
            address: address(port),
        }
    }

    #[test]
    fn ignores_itself_and_peered_keys() {
        let mut policy = DialPolicy::new(MID, GRACE, 4);
        let now = Instant::now();
        assert_eq!(
            policy.consider(MID, 1, address(1), false, now),
            Verdict::Own
        );
        assert_eq!(
            policy.consider(HIGH, 1, address(1), true, now),
            Verdict::Peered
        );
    }

    #[test]
    fn the_lower_key_dials_once_per_interface() {
        let mut policy = DialPolicy::new(MID, GRACE, 4);
        let now = Instant::now();
        assert_eq!(
            policy.consider(HIGH, 1, address(1), false, now),
            Verdict::Dial
        );
        // The same node's other family, or the same address again.
        assert_eq!(
            policy.consider(HIGH, 1, address(2), false, now),
            Verdict::Dialling
        );
        assert_eq!(
            policy.consider(HIGH, 1, address(1), false, now),
            Verdict::Dialling
        );
        // On another interface it is another link.
        assert_eq!(
            policy.consider(HIGH, 2, address(3), false, now),
            Verdict::Dial
        );
        policy.finished(&ticket(HIGH, 1, 1), false, now);
        assert_eq!(
            policy.consider(HIGH, 1, address(1), false, now),
            Verdict::Dial
        );
        assert_eq!(policy.addresses.len(), 2);
    }

    #[test]
    fn the_higher_key_waits_out_the_grace() {
        let mut policy = DialPolicy::new(MID, GRACE, 4);
        let start = Instant::now();
        for second in [0, 2, 4, 6] {
            let now = start + Duration::from_secs(second);
            assert_eq!(
                policy.consider(LOW, 1, address(1), false, now),
                Verdict::TheirTurn
            );
        }
        let now = start + GRACE;
        assert_eq!(
            policy.consider(LOW, 1, address(1), false, now),
            Verdict::Dial
        );
    }

    #[test]
    fn a_peering_restarts_the_wait() {
        let mut policy = DialPolicy::new(MID, GRACE, 4);
        let start = Instant::now();
        assert_eq!(
            policy.consider(LOW, 1, address(1), false, start),
            Verdict::TheirTurn
        );
        let peered_at = start + Duration::from_secs(6);
        assert_eq!(
            policy.consider(LOW, 1, address(1), true, peered_at),
            Verdict::Peered
        );
        let later = start + GRACE;
        assert_eq!(
            policy.consider(LOW, 1, address(1), false, later),
            Verdict::TheirTurn
        );
    }

    #[test]
    fn a_node_not_heard_for_long_starts_over() {
        let mut policy = DialPolicy::new(MID, GRACE, 4);
        let start = Instant::now();
        assert_eq!(
            policy.consider(LOW, 1, address(1), false, start),
            Verdict::TheirTurn
        );
        let back = start + GRACE * 3;
        assert_eq!(
            policy.consider(LOW, 1, address(1), false, back),
            Verdict::TheirTurn
        );
    }

    #[test]
    fn bounds_the_dials_in_progress() {
        let mut policy = DialPolicy::new(LOW, GRACE, 2);
        let now = Instant::now();
        assert_eq!(
            policy.consider(MID, 1, address(1), false, now),
            Verdict::Dial
        );
        assert_eq!(
            policy.consider(HIGH, 1, address(2), false, now),
            Verdict::Dial
        );
        assert_eq!(
            policy.consider(HIGH, 2, address(3), false, now),
            Verdict::Busy
        );
        policy.finished(&ticket(MID, 1, 1), false, now);
        assert_eq!(
            policy.consider(HIGH, 2, address(3), false, now),
            Verdict::Dial
        );
    }

    #[test]
    fn a_delivered_peering_settles_before_the_list_shows_it() {
        let mut policy = DialPolicy::new(MID, GRACE, 4);
        let now = Instant::now();
        assert_eq!(
            policy.consider(HIGH, 1, address(1), false, now),
            Verdict::Dial
        );
        policy.finished(&ticket(HIGH, 1, 1), true, now);
        // The other family's beacon, judged on a list taken too early.
        assert_eq!(
            policy.consider(HIGH, 1, address(2), false, now),
            Verdict::Dialling
        );
        let later = now + SETTLE;
        assert_eq!(
            policy.consider(HIGH, 1, address(2), false, later),
            Verdict::Dial
        );
    }
}
