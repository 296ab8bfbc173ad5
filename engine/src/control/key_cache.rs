//! A bounded cache of decompressed ed25519 verifying keys.
//!
//! Checking a signature starts by decompressing the signer's 32-byte key to
//! a curve point, about a third of the cost of the check. A node sees the
//! same few thousand keys again and again (its ancestors in every
//! announcement, the nodes whose bootstraps and broadcasts it relays), so
//! the control plane keeps their points in one process-wide cache shared by
//! every [`Router`](super::Router). The cache changes no result: a key that
//! is not a valid point is never cached and verifies nothing, and a cached
//! point is checked exactly as a freshly decompressed one (cofactorless,
//! canonical `S`, as the reference).
//!
//! At most [`KEY_CACHE_CAPACITY`] keys are kept (about 4.5 MB); a new key at
//! the cap replaces one not used since the clock hand last passed it.

use std::sync::OnceLock;

use ed25519_dalek::VerifyingKey;

use super::clock_cache::ClockCache;
use crate::wire::{signature_verifies, PublicKey, SIGNATURE_LEN};

/// Most keys the process-wide cache keeps.
pub(crate) const KEY_CACHE_CAPACITY: usize = 16_384;

/// The cache every signature check of the control plane goes through.
pub(crate) fn shared() -> &'static KeyCache {
    static SHARED: OnceLock<KeyCache> = OnceLock::new();
    SHARED.get_or_init(|| KeyCache::new(KEY_CACHE_CAPACITY))
}

/// Decompressed keys, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct KeyCache {
    points: ClockCache<PublicKey, VerifyingKey>,
}

impl KeyCache {
    /// An empty cache keeping at most `capacity` keys (none when zero).
    pub(crate) fn new(capacity: usize) -> KeyCache {
        KeyCache {
            points: ClockCache::new(capacity),
        }
    }

    /// Whether `signature` is `key`'s signature over `message`; the same
    /// answer as [`PublicKey::verifies`].
    pub(crate) fn verifies(
        &self,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool {
        self.point(key)
            .is_some_and(|point| signature_verifies(&point, message, signature))
    }

    /// The decompressed key, from the cache or decompressed and cached now;
    /// `None` if it is not a valid point.
    fn point(&self, key: &PublicKey) -> Option<VerifyingKey> {
        if let Some(point) = self.points.get(key) {
            return Some(point);
        }
        // Decompressed outside the lock; a racing thread may insert it too.
        let point = key.verifying_key()?;
        self.points.insert(*key, point);
        Some(point)
    }

    /// Number of keys cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether `key` is cached.
    #[cfg(test)]
    fn contains(&self, key: &PublicKey) -> bool {
        self.points.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signer(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn signature(signing_key: &SigningKey, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        signing_key.sign(message).to_bytes()
    }

    #[test]
    fn answers_as_a_freshly_decompressed_key() {
        let cache = KeyCache::new(4);
        let (a, b) = (signer(1), signer(2));
        let (key_a, key_b) = (PublicKey::of(&a), PublicKey::of(&b));
        let good = signature(&a, b"hello");
        let mut flipped = good;
        flipped[3] ^= 1;
        // An S with its top bits set, so not reduced modulo the group
        // order: the canonical check the reference makes rejects it.
        let mut high_s = good;
        high_s[63] |= 0xf0;
        let not_a_point = {
            // The first y coordinate counting up that is not on the curve.
            let mut bytes = [0u8; 32];
            (0..=255u8)
                .map(|y| {
                    bytes[0] = y;
                    PublicKey(bytes)
                })
                .find(|key| key.verifying_key().is_none())
                .expect("some small y is not on the curve")
        };
        let cases: [(PublicKey, &[u8], [u8; SIGNATURE_LEN]); 6] = [
            (key_a, b"hello", good),
            (key_a, b"hellO", good),
            (key_b, b"hello", good),
            (key_a, b"hello", flipped),
            (key_a, b"hello", high_s),
            (not_a_point, b"hello", good),
        ];
        // Twice: the second round answers from the cache.
        for round in 0..2 {
            for (key, message, sig) in &cases {
                assert_eq!(
                    cache.verifies(key, message, sig),
                    key.verifies(message, sig),
                    "round {round}, key {key:?}"
                );
            }
        }
        assert!(cache.verifies(&key_a, b"hello", &good));
        assert!(!cache.verifies(&key_a, b"hello", &high_s));
        assert_eq!(cache.len(), 2, "only the two valid keys are cached");
        assert!(!cache.contains(&not_a_point));
    }

    #[test]
    fn evicts_at_its_cap_giving_used_keys_a_second_chance() {
        let cache = KeyCache::new(3);
        let signers: Vec<SigningKey> = (1..=5).map(signer).collect();
        let keys: Vec<PublicKey> = signers.iter().map(PublicKey::of).collect();
        let sigs: Vec<_> = signers.iter().map(|s| signature(s, b"m")).collect();
        for i in 0..3 {
            assert!(cache.verifies(&keys[i], b"m", &sigs[i]));
        }
        assert_eq!(cache.len(), 3);
        // Key 0 is used again, so the hand passes over it and evicts key 1.
        assert!(cache.verifies(&keys[0], b"m", &sigs[0]));
        assert!(cache.verifies(&keys[3], b"m", &sigs[3]));
        assert_eq!(cache.len(), 3);
        assert!(cache.contains(&keys[0]));
        assert!(!cache.contains(&keys[1]));
        assert!(cache.contains(&keys[2]));
        assert!(cache.contains(&keys[3]));
        // An evicted key still verifies (decompressed again).
        assert!(cache.verifies(&keys[1], b"m", &sigs[1]));
        assert!(!cache.verifies(&keys[1], b"m", &sigs[4]));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn zero_capacity_keeps_nothing_and_still_verifies() {
        let cache = KeyCache::new(0);
        let a = signer(7);
        let sig = signature(&a, b"x");
        assert!(cache.verifies(&PublicKey::of(&a), b"x", &sig));
        assert_eq!(cache.len(), 0);
    }
}
