//! Variable-length unsigned integers: big-endian base-128.
//!
//! The most significant 7-bit group comes first and every byte but the last
//! has bit `0x80` set. `0` is `00`, `128` is `81 00`, `300` is `82 2c`. A
//! `u64` takes at most [`MAX_LEN`] bytes. Only the canonical (shortest)
//! encoding is accepted.

use super::error::{EncodeError, Field, ParseError};

/// The longest encoding of a `u64`.
pub const MAX_LEN: usize = 10;

/// Number of bytes [`encode`] writes for `value`.
pub const fn encoded_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    if bits == 0 {
        1
    } else {
        bits.div_ceil(7)
    }
}

/// Decodes a varu64 from the start of `buf`, returning the value and the
/// number of bytes it took. `field` names the value in errors.
#[inline]
pub fn decode(buf: &[u8], field: Field) -> Result<(u64, usize), ParseError> {
    if buf.first() == Some(&0x80) {
        return Err(ParseError::NonCanonicalVarint(field));
    }
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate() {
        if value > (u64::MAX >> 7) {
            return Err(ParseError::VarintOverflow(field));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(ParseError::Truncated(field))
}

/// Writes `value` at the start of `out`, returning the number of bytes
/// written.
pub fn encode(value: u64, out: &mut [u8]) -> Result<usize, EncodeError> {
    let len = encoded_len(value);
    let Some(dst) = out.get_mut(..len) else {
        return Err(EncodeError::BufferTooSmall {
            needed: len,
            available: out.len(),
        });
    };
    let mut rest = value;
    for (i, byte) in dst.iter_mut().rev().enumerate() {
        let group = (rest & 0x7f) as u8;
        *byte = if i == 0 { group } else { group | 0x80 };
        rest >>= 7;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_leading_zero_group() {
        assert_eq!(
            decode(&[0x80, 0x01], Field::Sequence),
            Err(ParseError::NonCanonicalVarint(Field::Sequence))
        );
    }

    #[test]
    fn rejects_overflow() {
        // 2^64 needs a leading group of 2.
        let bytes = [0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(
            decode(&bytes, Field::Hop),
            Err(ParseError::VarintOverflow(Field::Hop))
        );
        let eleven = [
            0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        assert_eq!(
            decode(&eleven, Field::Hop),
            Err(ParseError::VarintOverflow(Field::Hop))
        );
    }

    #[test]
    fn rejects_truncation() {
        assert_eq!(
            decode(&[], Field::Hop),
            Err(ParseError::Truncated(Field::Hop))
        );
        assert_eq!(
            decode(&[0x81, 0x81], Field::Hop),
            Err(ParseError::Truncated(Field::Hop))
        );
    }

    #[test]
    fn encode_refuses_short_buffer() {
        let mut out = [0u8; 1];
        assert_eq!(
            encode(300, &mut out),
            Err(EncodeError::BufferTooSmall {
                needed: 2,
                available: 1
            })
        );
    }

    proptest! {
        #[test]
        fn round_trip(value: u64, tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut buf = [0u8; MAX_LEN + 4];
            let n = encode(value, &mut buf).unwrap();
            prop_assert_eq!(n, encoded_len(value));
            buf[n..n + tail.len()].copy_from_slice(&tail);
            prop_assert_eq!(decode(&buf[..n + tail.len()], Field::Sequence), Ok((value, n)));
        }

        #[test]
        fn decode_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok((value, n)) = decode(&bytes, Field::Sequence) {
                let mut buf = [0u8; MAX_LEN];
                let m = encode(value, &mut buf).unwrap();
                prop_assert_eq!(&buf[..m], &bytes[..n]);
            }
        }
    }
}
