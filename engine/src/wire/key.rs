//! Ed25519 public keys, ordered as big-endian byte strings.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// A node's 32-byte ed25519 public key: its address on the overlay.
///
/// Keys are ordered as big-endian byte strings (`memcmp`); the spanning tree
/// is rooted at the highest key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PublicKey(pub [u8; 32]);

impl Ord for PublicKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.halves().cmp(&other.halves())
    }
}

impl PartialOrd for PublicKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PublicKey {
    /// The "full mask" key, 32 bytes of `0xff`: the key of a fresh watermark.
    pub const FULL_MASK: PublicKey = PublicKey([0xff; 32]);

    /// The public key of a signing key.
    pub fn of(signing_key: &SigningKey) -> PublicKey {
        PublicKey(signing_key.verifying_key().to_bytes())
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as two big-endian halves: comparing them in order is
    /// comparing the bytes, in a few instructions rather than a call to
    /// `memcmp`.
    #[inline]
    fn halves(&self) -> (u128, u128) {
        let (high, low) = self.0.split_at(16);
        let (mut high_bytes, mut low_bytes) = ([0u8; 16], [0u8; 16]);
        high_bytes.copy_from_slice(high);
        low_bytes.copy_from_slice(low);
        (
            u128::from_be_bytes(high_bytes),
            u128::from_be_bytes(low_bytes),
        )
    }

    /// Whether `signature` is this key's ed25519 signature over `message`.
    ///
    /// This is the cofactorless check with canonical `S`, accepting exactly
    /// what the reference implementation accepts. A key that is not a valid
    /// curve point verifies nothing.
    pub fn verifies(&self, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        self.verifying_key()
            .is_some_and(|key| signature_verifies(&key, message, signature))
    }

    /// The key decompressed to a curve point, or `None` if it is not a
    /// valid point. Decompressing costs about a third of a verification, so
    /// callers that check many signatures by one key may keep the result
    /// and use [`signature_verifies`].
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0).ok()
    }
}

/// Whether `signature` is `key`'s ed25519 signature over `message`: the
/// check [`PublicKey::verifies`] makes, for a key already decompressed.
pub fn signature_verifies(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> bool {
    key.verify(message, &Signature::from_bytes(signature))
        .is_ok()
}

/// Signs `message` with `signing_key`, returning the 64 signature bytes.
pub(crate) fn sign(signing_key: &SigningKey, message: &[u8]) -> [u8; SIGNATURE_LEN] {
    signing_key.sign(message).to_bytes()
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for byte in self.0.iter().take(4) {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…")
    }
}

impl From<[u8; 32]> for PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        PublicKey(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_byte_order() {
        let mut keys = Vec::new();
        for position in [0, 7, 8, 15, 16, 31] {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut bytes = [0x55; 32];
                bytes[position] = value;
                keys.push(PublicKey(bytes));
            }
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(a.cmp(b), a.0.cmp(&b.0), "{a:?} vs {b:?}");
                assert_eq!(a.partial_cmp(b), Some(a.0.cmp(&b.0)));
            }
        }
    }
}
