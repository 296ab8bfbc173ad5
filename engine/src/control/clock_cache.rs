//! A bounded, thread-safe map evicting by the clock algorithm, for the
//! process-wide caches of signature checking.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// At most `capacity` entries; a new key at the cap replaces one not used
/// since the clock hand last passed it (a used entry gets a second chance).
#[derive(Debug)]
pub(crate) struct ClockCache<K, V> {
    inner: Mutex<Slots<K, V>>,
}

#[derive(Debug)]
struct Slots<K, V> {
    slots: Vec<Slot<K, V>>,
    index: HashMap<K, usize>,
    hand: usize,
    capacity: usize,
}

#[derive(Debug)]
struct Slot<K, V> {
    key: K,
    value: V,
    used: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> ClockCache<K, V> {
    /// An empty cache keeping at most `capacity` entries (none when zero).
    pub(crate) fn new(capacity: usize) -> Self {
        ClockCache {
            inner: Mutex::new(Slots {
                slots: Vec::new(),
                index: HashMap::new(),
                hand: 0,
                capacity,
            }),
        }
    }

    /// A copy of the value for `key`, marking it used.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let mut slots = self.lock();
        let at = *slots.index.get(key)?;
        let slot = slots.slots.get_mut(at)?;
        slot.used = true;
        Some(slot.value.clone())
    }

    /// Sets `key` to `value`, evicting an entry at the cap.
    pub(crate) fn insert(&self, key: K, value: V) {
        self.lock().insert(key, value);
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().index.len()
    }

    fn lock(&self) -> MutexGuard<'_, Slots<K, V>> {
        // Every statement leaves the slots consistent, so a panic elsewhere
        // while holding the lock leaves nothing to repair.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq + Clone, V> Slots<K, V> {
    fn insert(&mut self, key: K, value: V) {
        if let Some(&at) = self.index.get(&key) {
            if let Some(slot) = self.slots.get_mut(at) {
                slot.value = value;
            }
            return;
        }
        if self.capacity == 0 {
            return;
        }
        let fresh = Slot {
            key: key.clone(),
            value,
            used: false,
        };
        if self.slots.len() < self.capacity {
            self.index.insert(key, self.slots.len());
            self.slots.push(fresh);
            return;
        }
        // Each pass clears `used` bits, so the second pass at the latest
        // finds a victim.
        for _ in 0..2 * self.slots.len() {
            let at = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let Some(slot) = self.slots.get_mut(at) else {
                break;
            };
            if slot.used {
                slot.used = false;
                continue;
            }
            self.index.remove(&slot.key);
            *slot = fresh;
            self.index.insert(key, at);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_at_its_cap_giving_used_entries_a_second_chance() {
        let cache = ClockCache::new(3);
        for key in 0..3 {
            cache.insert(key, key * 10);
        }
        assert_eq!(cache.len(), 3);
        // 0 is used again, so the hand passes over it and evicts 1.
        assert_eq!(cache.get(&0), Some(0));
        cache.insert(3, 30);
        assert_eq!(cache.len(), 3);
        assert_eq!(
            [0, 1, 2, 3].map(|key| cache.get(&key)),
            [Some(0), None, Some(20), Some(30)]
        );
        // Replacing a value evicts nothing.
        cache.insert(3, 31);
        assert_eq!((cache.len(), cache.get(&3)), (3, Some(31)));
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let cache = ClockCache::new(0);
        cache.insert(1, 1);
        assert_eq!((cache.len(), cache.get(&1)), (0, None));
    }
}
