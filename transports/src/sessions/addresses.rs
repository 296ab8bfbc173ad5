//! Synthetic socket addresses for remote keys.
//!
//! quinn-proto addresses its peers by [`SocketAddr`]; sessions address
//! them by public key. Each key gets a stable address in `fd00::/8` (a
//! unique local IPv6 range no real packet of ours uses): the address bytes
//! and the port are the key's first 17 bytes, so the address of a key is
//! the same whenever it is asked for, and two keys share one only if they
//! share 136 bits, which no one can arrange. The way back, from an
//! address to its key, is a table that holds each key for as long as a
//! connection with it lives.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use pinecone_engine::wire::PublicKey;

/// The synthetic address of `key`.
pub(crate) fn address_of(key: &PublicKey) -> SocketAddr {
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..].copy_from_slice(&key.0[..15]);
    let port = u16::from_be_bytes([key.0[15], key.0[16]]);
    // Port 0 is not a valid remote for quinn: use the next one up.
    let port = port.max(1);
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(octets), port, 0, 0))
}

/// Addresses back to keys, for the keys some connection holds.
#[derive(Debug, Default)]
pub(crate) struct AddressBook {
    keys: HashMap<SocketAddr, (PublicKey, usize)>,
}

impl AddressBook {
    /// Holds `key` for one more connection; returns its address.
    pub(crate) fn hold(&mut self, key: PublicKey) -> SocketAddr {
        let address = address_of(&key);
        self.keys.entry(address).or_insert((key, 0)).1 += 1;
        address
    }

    /// Lets go of `address` for one connection; the entry goes when no
    /// connection holds it.
    pub(crate) fn release(&mut self, address: SocketAddr) {
        if let Some(entry) = self.keys.get_mut(&address) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                self.keys.remove(&address);
            }
        }
    }

    /// The key held at `address`.
    pub(crate) fn key_of(&self, address: &SocketAddr) -> Option<PublicKey> {
        self.keys.get(address).map(|(key, _)| *key)
    }

    /// How many keys are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_stable_unique_local_and_never_port_zero() {
        let key = PublicKey([0x42; 32]);
        assert_eq!(address_of(&key), address_of(&key));
        let SocketAddr::V6(v6) = address_of(&key) else {
            panic!("not IPv6");
        };
        assert_eq!(v6.ip().octets()[0], 0xfd);
        assert_ne!(address_of(&PublicKey([0; 32])).port(), 0);
        let mut other = key;
        other.0[16] ^= 1;
        assert_ne!(address_of(&key), address_of(&other));
    }

    #[test]
    fn the_table_holds_a_key_while_a_connection_does() {
        let mut book = AddressBook::default();
        let key = PublicKey([9; 32]);
        let address = book.hold(key);
        book.hold(key);
        assert_eq!(book.key_of(&address), Some(key));
        book.release(address);
        assert_eq!(book.key_of(&address), Some(key));
        book.release(address);
        assert_eq!(book.key_of(&address), None);
        assert_eq!(book.len(), 0);
    }
}
