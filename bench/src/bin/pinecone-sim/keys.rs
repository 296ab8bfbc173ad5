//! Node identities derived from the node's name and the run's seed.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

/// The signing key of the node called `name`: the ed25519 secret seed is
/// SHA-256 of the run seed (8 bytes, big-endian) followed by the name.
pub fn signing_key(seed: u64, name: &str) -> SigningKey {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_be_bytes());
    hasher.update(name.as_bytes());
    SigningKey::from_bytes(&hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_seed_and_name_only() {
        let a = signing_key(1, "alice").to_bytes();
        assert_eq!(a, signing_key(1, "alice").to_bytes());
        assert_ne!(a, signing_key(2, "alice").to_bytes());
        assert_ne!(a, signing_key(1, "bob").to_bytes());
        let mut expected = Sha256::new();
        expected.update([0, 0, 0, 0, 0, 0, 0, 1]);
        expected.update(b"alice");
        assert_eq!(a, <[u8; 32]>::from(expected.finalize()));
    }
}
