//! Bluetooth device addresses and the kernel's `sockaddr_l2`.
//!
//! # How the bytes of `sockaddr_l2` are derived
//!
//! Linux declares the L2CAP socket address in
//! `include/net/bluetooth/l2cap.h` (and BlueZ in `lib/l2cap.h`) as
//!
//! ```c
//! struct sockaddr_l2 {
//!     sa_family_t l2_family;      /* u16, host order: AF_BLUETOOTH = 31 */
//!     __le16      l2_psm;         /* little-endian */
//!     bdaddr_t    l2_bdaddr;      /* struct { __u8 b[6]; } __packed */
//!     __le16      l2_cid;         /* little-endian; 0 for a PSM channel */
//!     __u8        l2_bdaddr_type; /* BDADDR_BREDR 0, LE_PUBLIC 1, LE_RANDOM 2 */
//! };
//! ```
//!
//! Every member is aligned to at most 2 bytes and `bdaddr_t` is packed, so
//! the members sit at offsets 0, 2, 4, 10 and 12 with no padding between
//! them, and the struct is 13 bytes rounded up to its 2-byte alignment:
//! 14, the last byte padding (zero). `bdaddr_t` holds the address least
//! significant byte first, the reverse of how it is printed (BlueZ's
//! `str2ba` reverses `AA:BB:CC:DD:EE:FF` into `FF EE DD CC BB AA`).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// `AF_BLUETOOTH` (`include/linux/socket.h`).
pub const AF_BLUETOOTH: u16 = 31;

/// The size of `struct sockaddr_l2`.
pub const SOCKADDR_L2_LEN: usize = 14;

/// A Bluetooth device address, in the order it is printed
/// (`AA:BB:CC:DD:EE:FF` is `[0xAA, …, 0xFF]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BdAddr(pub [u8; 6]);

/// Why a device address did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a Bluetooth address (six hexadecimal pairs separated by colons): {0:?}")]
pub struct BdAddrError(pub String);

impl FromStr for BdAddr {
    type Err = BdAddrError;

    fn from_str(text: &str) -> Result<BdAddr, BdAddrError> {
        let error = || BdAddrError(text.to_owned());
        let mut bytes = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut bytes {
            let part = parts.next().ok_or_else(error)?;
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(error());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| error())?;
        }
        if parts.next().is_some() {
            return Err(error());
        }
        Ok(BdAddr(bytes))
    }
}

impl fmt::Display for BdAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02X}:{b:02X}:{c:02X}:{d:02X}:{e:02X}:{g:02X}")
    }
}

/// The kind of an LE address, as `l2_bdaddr_type` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeAddressType {
    /// A public (IEEE-assigned) address: `BDADDR_LE_PUBLIC`, 1.
    Public = 1,
    /// A random (static or private) address, what phones advertise
    /// with: `BDADDR_LE_RANDOM`, 2.
    Random = 2,
}

/// Where an LE connection-oriented L2CAP channel goes: a device and a PSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L2capAddress {
    /// The remote device.
    pub address: BdAddr,
    /// Whether that address is public or random.
    pub address_type: LeAddressType,
    /// The LE PSM the remote listens on.
    pub psm: u16,
}

impl L2capAddress {
    /// The address as the bytes of a `struct sockaddr_l2` (see the module
    /// documentation for the layout).
    pub fn to_sockaddr_l2(&self) -> [u8; SOCKADDR_L2_LEN] {
        let mut raw = [0u8; SOCKADDR_L2_LEN];
        raw[0..2].copy_from_slice(&AF_BLUETOOTH.to_ne_bytes());
        raw[2..4].copy_from_slice(&self.psm.to_le_bytes());
        let mut reversed = self.address.0;
        reversed.reverse();
        raw[4..10].copy_from_slice(&reversed);
        // raw[10..12]: l2_cid 0, a channel by PSM.
        raw[12] = self.address_type as u8;
        // raw[13]: padding.
        raw
    }
}

impl fmt::Display for L2capAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ble://{}?psm={}", self.address, self.psm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_in_display_order() {
        let address: BdAddr = "aa:BB:cc:DD:ee:0F".parse().expect("valid");
        assert_eq!(address.0, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]);
        assert_eq!(address.to_string(), "AA:BB:CC:DD:EE:0F");
        for bad in [
            "",
            "AA:BB:CC:DD:EE",
            "AA:BB:CC:DD:EE:FF:00",
            "AA:BB:CC:DD:EE:F",
            "AA:BB:CC:DD:EE:FFF",
            "AA-BB-CC-DD-EE-FF",
            "GG:BB:CC:DD:EE:FF",
            "+A:BB:CC:DD:EE:FF",
        ] {
            assert!(bad.parse::<BdAddr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn af_bluetooth_matches_libc() {
        assert_eq!(i32::from(AF_BLUETOOTH), libc::AF_BLUETOOTH);
    }

    /// Golden bytes from the layout in the module documentation, for a
    /// little-endian host (where `sa_family_t` 31 is `1f 00`).
    #[cfg(target_endian = "little")]
    #[test]
    fn sockaddr_l2_golden_bytes() {
        let random = L2capAddress {
            address: "AA:BB:CC:DD:EE:FF".parse().expect("valid"),
            address_type: LeAddressType::Random,
            psm: 0x0081,
        };
        assert_eq!(
            random.to_sockaddr_l2(),
            [
                0x1f, 0x00, // l2_family AF_BLUETOOTH
                0x81, 0x00, // l2_psm 0x0081, little-endian
                0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, // l2_bdaddr, reversed
                0x00, 0x00, // l2_cid 0
                0x02, // l2_bdaddr_type BDADDR_LE_RANDOM
                0x00, // padding
            ]
        );
        let public = L2capAddress {
            address: "00:1A:7D:DA:71:13".parse().expect("valid"),
            address_type: LeAddressType::Public,
            psm: 0x00ff,
        };
        assert_eq!(
            public.to_sockaddr_l2(),
            [0x1f, 0x00, 0xff, 0x00, 0x13, 0x71, 0xda, 0x7d, 0x1a, 0x00, 0x00, 0x00, 0x01, 0x00]
        );
        assert_eq!(public.to_string(), "ble://00:1A:7D:DA:71:13?psm=255");
    }
}
