//! A map from keys to values stamped with when they were last set, with a
//! cap that evicts the entry set longest ago.

use std::collections::{BTreeMap, BTreeSet};

use super::time::Millis;
use crate::wire::PublicKey;

/// Keys to time-stamped values, at most `capacity` of them.
#[derive(Debug, Clone)]
pub(crate) struct RecencyMap<V> {
    entries: BTreeMap<PublicKey, (V, Millis)>,
    by_age: BTreeSet<(Millis, PublicKey)>,
    capacity: usize,
}

impl<V> RecencyMap<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        RecencyMap {
            entries: BTreeMap::new(),
            by_age: BTreeSet::new(),
            capacity,
        }
    }

    /// Sets `key` to `value` as of `now`. A new key at the cap evicts the
    /// entry set longest ago (ties: the lowest key); with a zero capacity
    /// nothing is kept.
    pub(crate) fn insert(&mut self, key: PublicKey, value: V, now: Millis) {
        if let Some((_, stamp)) = self.entries.get(&key) {
            self.by_age.remove(&(*stamp, key));
        } else {
            if self.capacity == 0 {
                return;
            }
            if self.entries.len() >= self.capacity {
                if let Some((_, oldest)) = self.by_age.pop_first() {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(key, (value, now));
        self.by_age.insert((now, key));
    }

    /// The value for `key` and when it was set.
    pub(crate) fn get(&self, key: &PublicKey) -> Option<(&V, Millis)> {
        self.entries.get(key).map(|(value, stamp)| (value, *stamp))
    }

    /// Forgets every entry set before `cutoff`.
    pub(crate) fn remove_before(&mut self, cutoff: Millis) {
        while let Some(&(stamp, key)) = self.by_age.first() {
            if stamp >= cutoff {
                break;
            }
            self.by_age.pop_first();
            self.entries.remove(&key);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.by_age.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PublicKey, &V, Millis)> {
        self.entries.iter().map(|(k, (v, stamp))| (k, v, *stamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(byte: u8) -> PublicKey {
        PublicKey([byte; 32])
    }

    #[test]
    fn evicts_the_oldest_at_the_cap() {
        let mut map = RecencyMap::new(2);
        map.insert(k(1), "a", Millis(10));
        map.insert(k(2), "b", Millis(5));
        map.insert(k(1), "a2", Millis(20)); // refresh, no eviction
        assert_eq!(map.len(), 2);
        map.insert(k(3), "c", Millis(30)); // evicts k(2), set at 5
        assert!(map.get(&k(2)).is_none());
        assert_eq!(map.get(&k(1)), Some((&"a2", Millis(20))));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut map = RecencyMap::new(0);
        map.insert(k(1), (), Millis(1));
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn remove_before_drops_only_older_entries() {
        let mut map = RecencyMap::new(8);
        for (byte, at) in [(1, 10), (2, 20), (3, 30)] {
            map.insert(k(byte), byte, Millis(at));
        }
        map.remove_before(Millis(20));
        let keys: Vec<u8> = map.iter().map(|(key, _, _)| key.0[0]).collect();
        assert_eq!(keys, vec![2, 3]);
    }
}
