//! The coordinates cache: where recent senders were on the tree, so that a
//! reply can be tree routed instead of SNEK routed.
//!
//! It is filled on local delivery from the frame's source coordinates, used
//! for local sends while younger than 1 minute, and cleared when the root
//! changes. It is a component of its own so that a runtime whose forwarding
//! plane delivers traffic itself can own one outside the state machine.

use super::recency::RecencyMap;
use super::time::{Millis, COORDS_CACHE_LIFETIME};
use crate::wire::{Coords, PublicKey};

/// Coordinates longer than this are not cached (no real tree is that deep;
/// it bounds what one hostile frame can make the cache hold).
pub const MAX_CACHED_COORDS_LEN: usize = 256;

/// Recently seen coordinates by key, at most `capacity` entries; at the cap
/// the entry learned longest ago is evicted.
#[derive(Debug, Clone)]
pub struct CoordsCache {
    entries: RecencyMap<Coords>,
}

impl CoordsCache {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> CoordsCache {
        CoordsCache {
            entries: RecencyMap::new(capacity),
        }
    }

    /// Remembers that `key` was at `coords` at `now`. Empty coordinates (no
    /// information) and coordinates longer than [`MAX_CACHED_COORDS_LEN`]
    /// are ignored.
    pub fn insert(&mut self, key: PublicKey, coords: impl IntoIterator<Item = u64>, now: Millis) {
        let ports: Vec<u64> = coords.into_iter().take(MAX_CACHED_COORDS_LEN + 1).collect();
        if ports.is_empty() || ports.len() > MAX_CACHED_COORDS_LEN {
            return;
        }
        self.entries.insert(key, Coords(ports), now);
    }

    /// The coordinates of `key`, if learned less than a minute before `now`.
    pub fn get(&self, key: &PublicKey, now: Millis) -> Option<&Coords> {
        let (coords, seen) = self.entries.get(key)?;
        (!now.has_elapsed(seen, COORDS_CACHE_LIFETIME)).then_some(coords)
    }

    /// Forgets everything (the root changed).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Forgets entries that are no longer fresh at `now`.
    pub fn expire(&mut self, now: Millis) {
        // Stale means seen at or before `now - lifetime`.
        let lifetime = Millis(0).saturating_add(COORDS_CACHE_LIFETIME).0;
        if let Some(last_stale) = now.0.checked_sub(lifetime) {
            self.entries
                .remove_before(Millis(last_stale.saturating_add(1)));
        }
    }

    /// Number of entries, fresh or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// The fresh entries at `now`, in key order.
    pub fn fresh(&self, now: Millis) -> impl Iterator<Item = (&PublicKey, &Coords)> {
        self.entries
            .iter()
            .filter(move |(_, _, seen)| !now.has_elapsed(*seen, COORDS_CACHE_LIFETIME))
            .map(|(key, coords, _)| (key, coords))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(byte: u8) -> PublicKey {
        PublicKey([byte; 32])
    }

    #[test]
    fn entries_are_fresh_for_one_minute() {
        let mut cache = CoordsCache::new(4);
        cache.insert(k(1), [1u64, 2], Millis(1_000));
        assert_eq!(cache.get(&k(1), Millis(60_999)), Some(&Coords(vec![1, 2])));
        assert_eq!(cache.get(&k(1), Millis(61_000)), None);
        cache.expire(Millis(60_999));
        assert_eq!(cache.len(), 1);
        cache.expire(Millis(61_000));
        assert!(cache.is_empty());
    }

    #[test]
    fn ignores_empty_and_overlong_coordinates() {
        let mut cache = CoordsCache::new(4);
        cache.insert(k(1), [], Millis(0));
        cache.insert(k(2), vec![1u64; MAX_CACHED_COORDS_LEN + 1], Millis(0));
        assert!(cache.is_empty());
        cache.insert(k(3), vec![1u64; MAX_CACHED_COORDS_LEN], Millis(0));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn cap_evicts_the_oldest() {
        let mut cache = CoordsCache::new(2);
        cache.insert(k(1), [1u64], Millis(1));
        cache.insert(k(2), [2u64], Millis(2));
        cache.insert(k(3), [3u64], Millis(3));
        assert_eq!(cache.get(&k(1), Millis(3)), None);
        assert_eq!(cache.fresh(Millis(3)).count(), 2);
        cache.clear();
        assert!(cache.is_empty());
    }
}
