//! Source addresses for outgoing connections: one per connection, counting
//! up from a first address.

use std::net::Ipv4Addr;

/// Hands out IPv4 source addresses counting up from a first one, skipping
/// every address whose last octet is 0 or 255, and staying inside the first
/// address's /8: past its end the count starts again at the first address.
/// In 127.0.0.0/8 every address is loopback on Linux and can be bound
/// without any setup.
#[derive(Debug, Clone)]
pub struct SourceAddresses {
    first: u32,
    next: u32,
}

impl SourceAddresses {
    /// Addresses from `first` on (or from the next usable one, when `first`
    /// ends in .0 or .255).
    pub fn starting_at(first: Ipv4Addr) -> SourceAddresses {
        let first = usable_from(u32::from(first), u32::from(first));
        SourceAddresses { first, next: first }
    }

    /// The next address.
    pub fn next_address(&mut self) -> Ipv4Addr {
        let address = self.next;
        self.next = usable_from(self.first, address.wrapping_add(1));
        Ipv4Addr::from(address)
    }
}

/// The first usable address at or after `candidate` in the /8 of `first`,
/// or `first` when there is none.
fn usable_from(first: u32, candidate: u32) -> u32 {
    let network = first & 0xff00_0000;
    let mut address = candidate;
    loop {
        if address & 0xff00_0000 != network {
            return first;
        }
        match address & 0xff {
            0 => address += 1,
            0xff => address = address.wrapping_add(2),
            _ => return address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(addresses: &mut SourceAddresses, n: usize) -> Vec<Ipv4Addr> {
        (0..n).map(|_| addresses.next_address()).collect()
    }

    #[test]
    fn counts_up_from_the_first() {
        let mut addresses = SourceAddresses::starting_at(Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(
            take(&mut addresses, 3),
            [
                Ipv4Addr::new(127, 1, 0, 1),
                Ipv4Addr::new(127, 1, 0, 2),
                Ipv4Addr::new(127, 1, 0, 3)
            ]
        );
    }

    #[test]
    fn skips_last_octets_zero_and_255() {
        let mut addresses = SourceAddresses::starting_at(Ipv4Addr::new(127, 1, 0, 253));
        assert_eq!(
            take(&mut addresses, 3),
            [
                Ipv4Addr::new(127, 1, 0, 253),
                Ipv4Addr::new(127, 1, 0, 254),
                Ipv4Addr::new(127, 1, 1, 1)
            ]
        );
    }

    #[test]
    fn an_unusable_first_address_moves_to_the_next_usable_one() {
        let mut zero = SourceAddresses::starting_at(Ipv4Addr::new(127, 1, 0, 0));
        assert_eq!(zero.next_address(), Ipv4Addr::new(127, 1, 0, 1));
        let mut broadcast = SourceAddresses::starting_at(Ipv4Addr::new(127, 1, 0, 255));
        assert_eq!(broadcast.next_address(), Ipv4Addr::new(127, 1, 1, 1));
    }

    #[test]
    fn ten_thousand_addresses_are_distinct_and_usable() {
        let mut addresses = SourceAddresses::starting_at(Ipv4Addr::new(127, 1, 0, 1));
        let all = take(&mut addresses, 10_000);
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), 10_000);
        assert!(all.iter().all(|a| !matches!(a.octets()[3], 0 | 255)));
        // 254 usable addresses per /24: the 10,000th is in the 40th /24.
        assert_eq!(all[9_999], Ipv4Addr::new(127, 1, 39, 94));
    }

    #[test]
    fn wraps_to_the_first_address_at_the_end_of_the_slash_8() {
        let first = Ipv4Addr::new(127, 255, 255, 253);
        let mut addresses = SourceAddresses::starting_at(first);
        assert_eq!(
            take(&mut addresses, 3),
            [first, Ipv4Addr::new(127, 255, 255, 254), first]
        );
    }
}
