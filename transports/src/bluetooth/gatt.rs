//! The GATT service P2P Matrix apps advertise, and the characteristic
//! that tells where to open the L2CAP channel.
//!
//! Element's P2P builds advertise the service [`SERVICE_UUID`]; its one
//! readable characteristic [`PSM_CHARACTERISTIC_UUID`] holds the L2CAP
//! PSM the app listens on as a big-endian `u16`. Android follows it with
//! the first [`KEY_PREFIX_LEN`] bytes of the node's public key (20 bytes
//! in all); iOS writes the PSM alone (2 bytes). Both are accepted.

use thiserror::Error;

/// The GATT service of P2P Matrix apps, as a 128-bit UUID
/// (`a2fda8dd-d250-4a64-8b9a-248f50b93c64`).
pub const SERVICE_UUID: u128 = 0xa2fd_a8dd_d250_4a64_8b9a_248f_50b9_3c64;

/// The characteristic holding the L2CAP PSM (and on Android a key
/// prefix), as a 128-bit UUID (`15d4151b-1008-41c0-85f2-950facf8a3cd`).
pub const PSM_CHARACTERISTIC_UUID: u128 = 0x15d4_151b_1008_41c0_85f2_950f_acf8_a3cd;

/// How many leading bytes of the public key Android writes after the PSM.
pub const KEY_PREFIX_LEN: usize = 18;

/// The characteristic's length with the PSM alone (iOS).
const PSM_ONLY_LEN: usize = 2;

/// The characteristic's length with the PSM and a key prefix (Android).
const PSM_AND_KEY_LEN: usize = PSM_ONLY_LEN + KEY_PREFIX_LEN;

/// The highest PSM an LE connection-oriented channel can use: LE PSMs are
/// one byte (0x01–0x7F fixed, 0x80–0xFF dynamic), and Linux refuses a
/// larger one for an LE address.
pub const MAX_LE_PSM: u16 = 0x00ff;

/// A parsed PSM characteristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PsmCharacteristic {
    /// The LE PSM to open the L2CAP channel to (1–255).
    pub psm: u16,
    /// The first bytes of the advertiser's public key, when it wrote them
    /// (Android).
    pub key_prefix: Option<[u8; KEY_PREFIX_LEN]>,
}

/// Why a characteristic value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PsmError {
    /// Neither 2 bytes (PSM) nor 20 (PSM and key prefix).
    #[error("the PSM characteristic is {0} bytes; expected 2 (PSM) or 20 (PSM and key prefix)")]
    Length(usize),
    /// The PSM is 0 or beyond the one-byte LE range.
    #[error("PSM {0:#06x} is not an LE PSM (0x0001–0x00ff)")]
    Psm(u16),
}

impl PsmCharacteristic {
    /// Parses a characteristic value in either layout.
    pub fn parse(value: &[u8]) -> Result<PsmCharacteristic, PsmError> {
        let (psm, key) = match value.len() {
            PSM_ONLY_LEN | PSM_AND_KEY_LEN => value.split_at(PSM_ONLY_LEN),
            other => return Err(PsmError::Length(other)),
        };
        let psm = u16::from_be_bytes([psm[0], psm[1]]);
        if psm == 0 || psm > MAX_LE_PSM {
            return Err(PsmError::Psm(psm));
        }
        let key_prefix = <[u8; KEY_PREFIX_LEN]>::try_from(key).ok();
        Ok(PsmCharacteristic { psm, key_prefix })
    }

    /// The value in Android's layout (PSM then key prefix) when there is a
    /// prefix, else in iOS's (PSM alone).
    pub fn encode(&self) -> Vec<u8> {
        let mut value = self.psm.to_be_bytes().to_vec();
        if let Some(prefix) = &self.key_prefix {
            value.extend_from_slice(prefix);
        }
        value
    }
}

/// The first [`KEY_PREFIX_LEN`] bytes of `key`.
pub fn key_prefix(key: &[u8; 32]) -> [u8; KEY_PREFIX_LEN] {
    let mut prefix = [0; KEY_PREFIX_LEN];
    prefix.copy_from_slice(&key[..KEY_PREFIX_LEN]);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uuids_read_as_element_writes_them() {
        let text = |uuid: u128| {
            let hex = format!("{uuid:032x}");
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        };
        assert_eq!(text(SERVICE_UUID), "a2fda8dd-d250-4a64-8b9a-248f50b93c64");
        assert_eq!(
            text(PSM_CHARACTERISTIC_UUID),
            "15d4151b-1008-41c0-85f2-950facf8a3cd"
        );
    }

    #[test]
    fn ios_layout_is_the_psm_alone_big_endian() {
        let parsed = PsmCharacteristic::parse(&[0x00, 0x81]).expect("valid");
        assert_eq!(parsed.psm, 0x81);
        assert_eq!(parsed.key_prefix, None);
        assert_eq!(parsed.encode(), [0x00, 0x81]);
    }

    #[test]
    fn android_layout_carries_an_eighteen_byte_key_prefix() {
        let mut value = vec![0x00, 0xc5];
        value.extend(1..=18u8);
        let parsed = PsmCharacteristic::parse(&value).expect("valid");
        assert_eq!(parsed.psm, 0xc5);
        let prefix: Vec<u8> = (1..=18).collect();
        assert_eq!(parsed.key_prefix.map(|p| p.to_vec()), Some(prefix));
        assert_eq!(parsed.encode(), value);
    }

    #[test]
    fn other_lengths_and_psms_are_refused() {
        for len in [0, 1, 3, 19, 21, 512] {
            let value = vec![0x00; len];
            assert_eq!(
                PsmCharacteristic::parse(&value),
                Err(PsmError::Length(len)),
                "{len} bytes"
            );
        }
        assert_eq!(
            PsmCharacteristic::parse(&[0, 0]),
            Err(PsmError::Psm(0)),
            "PSM 0 is no channel"
        );
        assert_eq!(
            PsmCharacteristic::parse(&[0x01, 0x00]),
            Err(PsmError::Psm(0x100)),
            "a two-byte PSM is BR/EDR only"
        );
        assert_eq!(
            PsmCharacteristic::parse(&[0, 0xff]).map(|c| c.psm),
            Ok(0xff)
        );
    }

    #[test]
    fn key_prefix_is_the_leading_bytes() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(key_prefix(&key).to_vec(), (0..18).collect::<Vec<u8>>());
    }

    proptest! {
        #[test]
        fn parse_is_total_and_round_trips(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(parsed) = PsmCharacteristic::parse(&value) {
                prop_assert_eq!(parsed.encode(), value);
            }
        }
    }
}
