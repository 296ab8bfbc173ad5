//! Network interfaces: listing them (or taking the host's list), which are
//! fit for discovery, and which addresses discovery uses on each.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::{if_nametoindex, InterfaceFlags};
use regex::Regex;
use thiserror::Error;

/// A network interface as discovery sees it: listed from the system, or
/// supplied by the host program (where the process cannot list interfaces
/// itself, as on Android).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetInterface {
    /// Its name, which becomes the zone of peerings found on it.
    pub name: String,
    /// Its index (`if_nametoindex`); 0 means unknown, and the name is
    /// looked up.
    pub index: u32,
    /// Administratively up.
    pub up: bool,
    /// Multicast-capable.
    pub multicast: bool,
    /// A loopback interface.
    pub loopback: bool,
    /// A point-to-point link.
    pub point_to_point: bool,
    /// Its addresses.
    pub addresses: Vec<IpAddr>,
}

impl NetInterface {
    /// Whether discovery may run on it: up, multicast-capable, neither
    /// loopback nor point-to-point.
    pub fn suitable(&self) -> bool {
        self.up && self.multicast && !self.loopback && !self.point_to_point
    }

    /// The address IPv4 beacons and dials leave from: its first unicast
    /// IPv4 address that is not link-local (169.254/16). Without one,
    /// discovery does not use IPv4 on the interface (as the reference).
    pub fn ipv4_source(&self) -> Option<Ipv4Addr> {
        self.addresses.iter().find_map(|address| match address {
            IpAddr::V4(v4)
                if !v4.is_unspecified()
                    && !v4.is_loopback()
                    && !v4.is_multicast()
                    && !v4.is_broadcast()
                    && !v4.is_link_local() =>
            {
                Some(*v4)
            }
            _ => None,
        })
    }

    /// The address IPv6 dials leave from: its first link-local unicast
    /// address (fe80::/10). Without one, discovery does not use IPv6 on
    /// the interface.
    pub fn ipv6_link_local(&self) -> Option<Ipv6Addr> {
        self.addresses.iter().find_map(|address| match address {
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(*v6),
            _ => None,
        })
    }
}

/// A host-supplied address list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not an IP address (expected forms: 192.0.2.1, 192.0.2.1/24, fe80::1%wlan0/64)")]
pub struct AddressListError(pub String);

/// Reads a space-separated list of addresses, as a host describes an
/// interface's addresses: each an IPv4 or IPv6 address, optionally with a
/// leading `/`, a `%zone` and a `/prefix` length (the zone and the prefix
/// are ignored). An entry that is none of these is an error.
pub fn parse_address_list(text: &str) -> Result<Vec<IpAddr>, AddressListError> {
    text.split_whitespace()
        .map(|entry| {
            let bare = entry.strip_prefix('/').unwrap_or(entry);
            let bare = bare.split_once('/').map_or(bare, |(address, _)| address);
            let bare = bare.split_once('%').map_or(bare, |(address, _)| address);
            bare.parse().map_err(|_| AddressListError(entry.to_owned()))
        })
        .collect()
}

/// Lists the system's interfaces with their addresses.
pub(crate) fn scan_system() -> io::Result<Vec<NetInterface>> {
    let mut by_name: BTreeMap<String, NetInterface> = BTreeMap::new();
    for entry in getifaddrs()? {
        let flags = entry.flags;
        let interface = by_name
            .entry(entry.interface_name.clone())
            .or_insert_with(|| NetInterface {
                name: entry.interface_name.clone(),
                index: 0,
                up: flags.contains(InterfaceFlags::IFF_UP),
                multicast: flags.contains(InterfaceFlags::IFF_MULTICAST),
                loopback: flags.contains(InterfaceFlags::IFF_LOOPBACK),
                point_to_point: flags.contains(InterfaceFlags::IFF_POINTOPOINT),
                addresses: Vec::new(),
            });
        let address = entry.address.as_ref().and_then(|address| {
            if let Some(v4) = address.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        });
        interface.addresses.extend(address);
    }
    Ok(by_name.into_values().map(with_index).collect())
}

/// Fills in a missing index from the name; 0 if the system knows no such
/// interface.
pub(crate) fn with_index(mut interface: NetInterface) -> NetInterface {
    if interface.index == 0 {
        interface.index = if_nametoindex(interface.name.as_str()).unwrap_or(0);
    }
    interface
}

/// An interface discovery runs on, and the families it uses there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveInterface {
    /// The interface's name: the zone of its peerings.
    pub(crate) name: String,
    /// Its index.
    pub(crate) index: u32,
    /// The IPv4 source address, when IPv4 is used on it.
    pub(crate) ipv4: Option<Ipv4Addr>,
    /// The IPv6 link-local source address, when IPv6 is used on it.
    pub(crate) ipv6: Option<Ipv6Addr>,
}

/// The interfaces to run on: suitable, with a known index, with a name the
/// filter matches (all when there is none), and with an address of at
/// least one family to use. Keyed by index.
pub(crate) fn select(
    interfaces: &[NetInterface],
    filter: Option<&Regex>,
) -> BTreeMap<u32, ActiveInterface> {
    interfaces
        .iter()
        .filter(|interface| interface.suitable() && interface.index != 0)
        .filter(|interface| filter.is_none_or(|filter| filter.is_match(&interface.name)))
        .filter_map(|interface| {
            let active = ActiveInterface {
                name: interface.name.clone(),
                index: interface.index,
                ipv4: interface.ipv4_source(),
                ipv6: interface.ipv6_link_local(),
            };
            (active.ipv4.is_some() || active.ipv6.is_some()).then_some((interface.index, active))
        })
        .collect()
}

/// Names the interface an accepted connection came in on, from the
/// interfaces last listed: by the scope of a link-local peer address, else
/// by the local address the peer dialled.
pub(crate) fn zone_of(
    interfaces: &[NetInterface],
    local: IpAddr,
    peer_scope: u32,
) -> Option<String> {
    if peer_scope != 0 {
        if let Some(interface) = interfaces.iter().find(|i| i.index == peer_scope) {
            return Some(interface.name.clone());
        }
    }
    let local = local.to_canonical();
    interfaces
        .iter()
        .find(|interface| interface.addresses.contains(&local))
        .map(|interface| interface.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interface(name: &str, index: u32, addresses: &str) -> NetInterface {
        NetInterface {
            name: name.to_owned(),
            index,
            up: true,
            multicast: true,
            loopback: false,
            point_to_point: false,
            addresses: parse_address_list(addresses).expect("addresses"),
        }
    }

    #[test]
    fn reads_host_address_lists() {
        let parsed = parse_address_list(" 192.0.2.1/24 /10.0.0.2 fe80::1%wlan0/64\n2001:db8::1 ")
            .expect("parses");
        assert_eq!(
            parsed,
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap(),
                "fe80::1".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
            ]
        );
        assert_eq!(parse_address_list(""), Ok(vec![]));
        assert_eq!(
            parse_address_list("10.0.0.1 wlan0"),
            Err(AddressListError("wlan0".to_owned()))
        );
    }

    #[test]
    fn sources_skip_link_local_ipv4_and_need_link_local_ipv6() {
        let only_link_local = interface("a", 1, "169.254.3.4 2001:db8::1");
        assert_eq!(only_link_local.ipv4_source(), None);
        assert_eq!(only_link_local.ipv6_link_local(), None);
        let both = interface("b", 2, "169.254.3.4 192.168.1.7/24 2001:db8::1 fe80::7");
        assert_eq!(both.ipv4_source(), Some(Ipv4Addr::new(192, 168, 1, 7)));
        assert_eq!(both.ipv6_link_local(), "fe80::7".parse().ok());
    }

    #[test]
    fn selects_suitable_matching_interfaces_with_an_address() {
        let mut down = interface("eth1", 3, "10.0.0.3");
        down.up = false;
        let mut no_multicast = interface("eth2", 4, "10.0.0.4");
        no_multicast.multicast = false;
        let mut tunnel = interface("tun0", 5, "10.0.0.5");
        tunnel.point_to_point = true;
        let mut lo = interface("lo", 1, "127.0.0.1 ::1");
        lo.loopback = true;
        let interfaces = vec![
            lo,
            interface("eth0", 2, "10.0.0.2 fe80::2"),
            down,
            no_multicast,
            tunnel,
            interface("wlan0", 6, "fe80::6"),
            interface("nothing", 7, "2001:db8::7"),
            interface("unknown", 0, "10.0.0.8"),
        ];
        let all = select(&interfaces, None);
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), vec![2, 6]);
        assert_eq!(all[&6].ipv4, None);
        assert_eq!(all[&6].ipv6, "fe80::6".parse().ok());
        let filter = Regex::new("^wlan").unwrap();
        let filtered = select(&interfaces, Some(&filter));
        assert_eq!(filtered.keys().copied().collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn zones_come_from_the_scope_or_the_local_address() {
        let interfaces = vec![
            interface("eth0", 2, "10.0.0.2 fe80::2"),
            interface("wlan0", 3, "192.168.1.2"),
        ];
        let mapped: IpAddr = "::ffff:192.168.1.2".parse().unwrap();
        assert_eq!(zone_of(&interfaces, mapped, 0).as_deref(), Some("wlan0"));
        let link_local: IpAddr = "fe80::2".parse().unwrap();
        assert_eq!(zone_of(&interfaces, link_local, 2).as_deref(), Some("eth0"));
        assert_eq!(zone_of(&interfaces, "10.9.9.9".parse().unwrap(), 0), None);
    }

    #[test]
    fn lists_this_machines_interfaces() {
        let interfaces = scan_system().expect("getifaddrs");
        let lo = interfaces
            .iter()
            .find(|i| i.loopback)
            .expect("a loopback interface");
        assert_ne!(lo.index, 0);
        assert!(lo.addresses.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(!lo.suitable());
    }
}
