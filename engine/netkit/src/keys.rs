//! Deterministic signing keys, so that every run of a test or benchmark
//! meets the same keys and so the same tree.

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::PublicKey;

/// The signing key numbered `index` under `seed`: the ed25519 secret seed
/// holds `seed` and `index` (8 bytes each, big-endian), then zeros.
pub fn signing_key(seed: u64, index: usize) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    bytes[8..16].copy_from_slice(&(index as u64).to_be_bytes());
    SigningKey::from_bytes(&bytes)
}

/// Keys `0..n` under `seed`, sorted by public key, weakest first.
pub fn sorted_keys(n: usize, seed: u64) -> Vec<SigningKey> {
    let mut keys: Vec<SigningKey> = (0..n).map(|i| signing_key(seed, i)).collect();
    keys.sort_by_key(PublicKey::of);
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_seed_and_index_only() {
        let a = signing_key(1, 2).to_bytes();
        assert_eq!(a, signing_key(1, 2).to_bytes());
        assert_ne!(a, signing_key(2, 2).to_bytes());
        assert_ne!(a, signing_key(1, 3).to_bytes());
    }

    #[test]
    fn sorted_keys_are_ascending_and_distinct() {
        let keys: Vec<PublicKey> = sorted_keys(10, 5).iter().map(PublicKey::of).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
