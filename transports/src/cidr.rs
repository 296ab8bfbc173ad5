//! Address ranges in CIDR notation, for the operator's deny list.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use thiserror::Error;

/// An IPv4 or IPv6 address range, such as `192.0.2.0/24` or `2001:db8::/32`.
/// A bare address is a range of one. An IPv4-mapped IPv6 address is
/// matched as the IPv4 address it maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a range did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CidrError {
    /// The part before the `/` is not an IP address.
    #[error("{0:?} is not an IP address")]
    Address(String),
    /// The prefix length is not a number within the address's width.
    #[error("{0:?} is not a prefix length for this address (0–32 for IPv4, 0–128 for IPv6)")]
    Prefix(String),
}

impl Cidr {
    /// Whether `address` is in the range.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => same_prefix(
                network.to_bits().into(),
                address.to_bits().into(),
                32,
                self.prefix,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(network.to_bits(), address.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the top `prefix` of `width` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, width: u8, prefix: u8) -> bool {
    let shift = u32::from(width - prefix.min(width));
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let parsed = address
            .parse::<IpAddr>()
            .map_err(|_| CidrError::Address(address.to_owned()))?;
        let width = if parsed.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= width)
                .ok_or_else(|| CidrError::Prefix(prefix.to_owned()))?,
        };
        let network = parsed.to_canonical();
        // An IPv4-mapped range is kept as the IPv4 range it maps.
        let prefix = match (parsed, network) {
            (IpAddr::V6(_), IpAddr::V4(_)) => prefix
                .checked_sub(96)
                .ok_or_else(|| CidrError::Prefix(prefix.to_string()))?,
            _ => prefix,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().expect(text)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect(text)
    }

    #[test]
    fn matches_ipv4_ranges() {
        let range = cidr("127.0.0.0/24");
        assert!(range.contains(ip("127.0.0.2")));
        assert!(!range.contains(ip("127.0.1.2")));
        assert!(range.contains(ip("::ffff:127.0.0.9")), "IPv4-mapped");
        assert!(!range.contains(ip("::1")));
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.7")));
        let one = cidr("127.0.0.2");
        assert!(one.contains(ip("127.0.0.2")) && !one.contains(ip("127.0.0.3")));
    }

    #[test]
    fn matches_ipv6_ranges() {
        let range = cidr("2001:db8::/32");
        assert!(range.contains(ip("2001:db8:1::5")));
        assert!(!range.contains(ip("2001:db9::5")));
        assert!(!range.contains(ip("192.0.2.1")));
        assert!(cidr("::/0").contains(ip("::1")));
        assert!(
            cidr("::ffff:10.0.0.0/104").contains(ip("10.1.2.3")),
            "mapped range"
        );
    }

    #[test]
    fn refuses_malformed_ranges() {
        for bad in [
            "",
            "300.1.1.1/8",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/x",
            "host/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }
}
