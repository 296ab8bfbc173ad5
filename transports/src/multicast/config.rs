//! Settings of multicast discovery, each a documented default.

use std::time::Duration;

use regex::Regex;

use super::sockets::GROUP_PORT;

/// Settings of multicast discovery
/// ([`Node::start_multicast`](crate::Node::start_multicast)).
#[derive(Debug, Clone)]
pub struct MulticastConfig {
    /// Run only on interfaces whose name this matches (anywhere in the
    /// name, as a search: `^eth` anchors it); every suitable interface
    /// when `None` (the default).
    pub interfaces: Option<Regex>,
    /// The UDP port of the beacon groups (60606, the reference's).
    pub group_port: u16,
    /// The TCP port of the listener beacons invite peers to (0, the
    /// default: a free port, as the reference).
    pub listen_port: u16,
    /// Time between two beacons on an interface (2 s, the reference's;
    /// the first goes out as soon as the interface is taken up).
    pub beacon_interval: Duration,
    /// Time between two looks at the interfaces (10 s, the reference's).
    pub rescan_interval: Duration,
    /// Datagrams taken from the groups per second, all senders together
    /// (256 by default: a LAN of 64 nodes beaconing on both families uses
    /// a quarter of it); the rest are dropped unread and counted.
    pub max_beacons_per_second: u32,
    /// Least time between two datagrams taken from one source address
    /// (500 ms; a node beacons every 2 s per family), so that one sender
    /// cannot use up the budget of all; closer ones are dropped and
    /// counted.
    pub min_gap_per_source: Duration,
    /// Dials (connect and handshake) in progress at once (16); a beacon
    /// that would start one more is ignored until one ends.
    pub max_concurrent_dials: usize,
    /// When two of our nodes hear each other, the one with the lower key
    /// dials and the other waits. The higher one dials too once it has
    /// heard the other this long with no peering between them (8 s by
    /// default, four beacons), for a lower node that cannot hear it.
    pub tie_break_grace: Duration,
}

impl Default for MulticastConfig {
    fn default() -> Self {
        MulticastConfig {
            interfaces: None,
            group_port: GROUP_PORT,
            listen_port: 0,
            beacon_interval: Duration::from_secs(2),
            rescan_interval: Duration::from_secs(10),
            max_beacons_per_second: 256,
            min_gap_per_source: Duration::from_millis(500),
            max_concurrent_dials: 16,
            tie_break_grace: Duration::from_secs(8),
        }
    }
}

impl MulticastConfig {
    /// The default settings, restricted to interfaces whose name matches
    /// `pattern` (a regular expression of the `regex` crate).
    pub fn matching(pattern: &str) -> Result<MulticastConfig, regex::Error> {
        Ok(MulticastConfig {
            interfaces: Some(Regex::new(pattern)?),
            ..MulticastConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_references_timings() {
        let config = MulticastConfig::default();
        assert_eq!(config.group_port, 60606);
        assert_eq!(config.beacon_interval, Duration::from_secs(2));
        assert_eq!(config.rescan_interval, Duration::from_secs(10));
        assert!(config.tie_break_grace > config.beacon_interval);
        assert!(config.interfaces.is_none());
    }

    #[test]
    fn patterns_search_interface_names() {
        let config = MulticastConfig::matching("^(eth|wl)").expect("compiles");
        let filter = config.interfaces.expect("a filter");
        assert!(filter.is_match("eth0") && filter.is_match("wlan0"));
        assert!(!filter.is_match("veth0"));
        assert!(MulticastConfig::matching("(").is_err());
    }
}
