//! Ed25519 public keys, ordered as big-endian byte strings.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// A node's 32-byte ed25519 public key: its address on the overlay.
///
/// Keys are ordered as big-endian byte strings (`memcmp`); the spanning tree
/// is rooted at the highest key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PublicKey(pub [u8; 32]);

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

    /// Whether `signature` is this key's ed25519 signature over `message`.
    ///
    /// This is the cofactorless check with canonical `S`, accepting exactly
    /// what the reference implementation accepts. A key that is not a valid
    /// curve point verifies nothing.
    pub fn verifies(&self, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        match VerifyingKey::from_bytes(&self.0) {
            Ok(key) => key
                .verify(message, &Signature::from_bytes(signature))
                .is_ok(),
            Err(_) => false,
        }
    }
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
