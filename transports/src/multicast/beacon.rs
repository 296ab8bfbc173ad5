//! The beacon a node multicasts on its LAN: its public key and the port of
//! its multicast TCP listener.

use pinecone_engine::wire::PublicKey;
use thiserror::Error;

/// The length of a beacon: a 32-byte public key and a big-endian u16 port.
pub const BEACON_LEN: usize = 34;

/// A decoded beacon. Beacons are not signed: the handshake on the TCP
/// connection they invite authenticates the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beacon {
    /// The sender's public key.
    pub key: PublicKey,
    /// The TCP port the sender accepts multicast peerings on.
    pub port: u16,
}

/// Why a datagram is not a beacon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BeaconError {
    /// A beacon is exactly [`BEACON_LEN`] bytes.
    #[error("a beacon is {BEACON_LEN} bytes, not {0}")]
    Length(usize),
    /// Port 0 cannot be dialled.
    #[error("a beacon names port 0")]
    PortZero,
}

impl Beacon {
    /// The beacon's bytes.
    pub fn encode(&self) -> [u8; BEACON_LEN] {
        let mut bytes = [0u8; BEACON_LEN];
        let (key, port) = bytes.split_at_mut(32);
        key.copy_from_slice(&self.key.0);
        port.copy_from_slice(&self.port.to_be_bytes());
        bytes
    }

    /// Decodes a received datagram. Stricter than the reference, which
    /// reads the first 34 bytes of anything at least that long: trailing
    /// bytes and port 0 are refused.
    pub fn decode(bytes: &[u8]) -> Result<Beacon, BeaconError> {
        let exact: &[u8; BEACON_LEN] = bytes
            .try_into()
            .map_err(|_| BeaconError::Length(bytes.len()))?;
        let (key, port) = exact.split_at(32);
        let mut key_bytes = [0u8; 32];
        key_bytes.copy_from_slice(key);
        let port = u16::from_be_bytes([port[0], port[1]]);
        if port == 0 {
            return Err(BeaconError::PortZero);
        }
        Ok(Beacon {
            key: PublicKey(key_bytes),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_key_then_big_endian_port() {
        let beacon = Beacon {
            key: PublicKey([0xab; 32]),
            port: 0x1234,
        };
        let bytes = beacon.encode();
        assert_eq!(&bytes[..32], &[0xab; 32]);
        assert_eq!(&bytes[32..], &[0x12, 0x34]);
        assert_eq!(Beacon::decode(&bytes), Ok(beacon));
    }

    #[test]
    fn refuses_short_long_and_port_zero() {
        let good = Beacon {
            key: PublicKey([7; 32]),
            port: 60606,
        }
        .encode();
        assert_eq!(Beacon::decode(&good[..33]), Err(BeaconError::Length(33)));
        assert_eq!(Beacon::decode(&[]), Err(BeaconError::Length(0)));
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(Beacon::decode(&long), Err(BeaconError::Length(35)));
        let mut zero = good;
        zero[32..].fill(0);
        assert_eq!(Beacon::decode(&zero), Err(BeaconError::PortZero));
    }

    proptest! {
        #[test]
        fn decoding_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let decoded = Beacon::decode(&bytes);
            prop_assert_eq!(decoded.is_ok(), bytes.len() == BEACON_LEN && bytes[32..] != [0, 0]);
        }

        #[test]
        fn round_trips(key in any::<[u8; 32]>(), port in 1u16..) {
            let beacon = Beacon { key: PublicKey(key), port };
            prop_assert_eq!(Beacon::decode(&beacon.encode()), Ok(beacon));
        }
    }
}
