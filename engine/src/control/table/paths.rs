//! SNEK path entries, one per bootstrapping key, sorted by key.

use super::NextHop;
use crate::control::announcement::Root;
use crate::control::peers::Port;
use crate::control::time::{Millis, PATH_EXPIRY, PATH_FRESH_FOR_BOOTSTRAPS, PATH_GRACE};
use crate::wire::{PublicKey, Watermark};

/// A path set up by a bootstrap that passed through this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathEntry {
    /// The bootstrapping node's key.
    pub key: PublicKey,
    /// The port the bootstrap came from: the way back to `key`.
    pub source: Port,
    /// Where the bootstrap was forwarded ([`NextHop::Local`] when it ended
    /// here).
    pub destination: NextHop,
    /// The bootstrap's sequence (its sender's clock).
    pub seq: u64,
    /// The root the bootstrapping node followed.
    pub root: Root,
    /// When the bootstrap was last seen.
    pub last_seen: Millis,
}

impl PathEntry {
    /// Whether it has not expired at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        !now.has_elapsed(self.last_seen, PATH_EXPIRY)
    }

    /// Whether a bootstrap carrying `watermark` may follow it at `now`:
    /// while its own sender's bootstraps still refresh it every interval
    /// (see [`PATH_FRESH_FOR_BOOTSTRAPS`]), or, like traffic (see
    /// [`PathEntry::serves`]), when the bootstrap is already following it.
    pub fn guides_bootstraps(&self, watermark: Watermark, now: Millis) -> bool {
        !now.has_elapsed(self.last_seen, PATH_FRESH_FOR_BOOTSTRAPS)
            || (self.watermark() == watermark && !self.is_gone(now))
    }

    /// Whether a traffic frame carrying `watermark` may follow it at `now`:
    /// while it is live, and until [`PATH_GRACE`] after it expired when the
    /// frame carries exactly this entry's watermark (it is already on the
    /// path this entry is part of).
    ///
    /// Entries expire in the order their bootstrap set them up, nearest the
    /// bootstrapping node first, so a frame travelling back along a path in
    /// its last milliseconds would otherwise reach an expired entry right
    /// after a live one; and a path re-routed part way (see `reroute`)
    /// outlives its first part by up to
    /// [`REROUTE_WINDOW`](crate::control::time::REROUTE_WINDOW). Following
    /// an expired entry is as loop-free as following a live one: one
    /// bootstrap sets up at most one entry per node, each pointing back to
    /// where the bootstrap came from, so frames carrying its watermark only
    /// ever move back along its path.
    pub fn serves(&self, watermark: Watermark, now: Millis) -> bool {
        self.is_live(now) || (self.watermark() == watermark && !self.is_gone(now))
    }

    /// The first instant at which it no longer [serves](Self::serves) a
    /// frame carrying `watermark`: it serves that frame at every instant
    /// before, and at none after. Its expiry, or for a frame carrying
    /// exactly its watermark the end of the grace after it.
    pub fn serves_until(&self, watermark: Watermark) -> Millis {
        let lasts = if self.watermark() == watermark {
            PATH_EXPIRY + PATH_GRACE
        } else {
            PATH_EXPIRY
        };
        self.last_seen.saturating_add(lasts)
    }

    /// Whether it expired more than [`PATH_GRACE`] before `now`, so that
    /// nothing can use it any more.
    pub fn is_gone(&self, now: Millis) -> bool {
        now.has_elapsed(self.last_seen, PATH_EXPIRY + PATH_GRACE)
    }

    /// The watermark a frame routed by this entry carries.
    pub fn watermark(&self) -> Watermark {
        Watermark {
            key: self.key,
            seq: self.seq,
        }
    }
}

/// The path entries, sorted by key.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathIndex {
    entries: Vec<PathEntry>,
}

impl PathIndex {
    fn position(&self, key: &PublicKey) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.key.cmp(key))
    }

    pub(crate) fn get(&self, key: &PublicKey) -> Option<&PathEntry> {
        self.position(key).ok().map(|i| &self.entries[i])
    }

    /// Stores `entry`, returning the entry it replaced.
    pub(crate) fn upsert(&mut self, entry: PathEntry) -> Option<PathEntry> {
        match self.position(&entry.key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i], entry)),
            Err(i) => {
                self.entries.insert(i, entry);
                None
            }
        }
    }

    /// Removes the entries `doomed` picks, returning their keys in order.
    pub(crate) fn remove_where(
        &mut self,
        mut doomed: impl FnMut(&PathEntry) -> bool,
    ) -> Vec<PublicKey> {
        let mut removed = Vec::new();
        self.entries.retain(|e| {
            let remove = doomed(e);
            if remove {
                removed.push(e.key);
            }
            !remove
        });
        removed
    }

    /// The entries with keys at or above `key`, in order.
    pub(crate) fn at_or_above(&self, key: &PublicKey) -> &[PathEntry] {
        let start = self.entries.partition_point(|e| e.key < *key);
        &self.entries[start..]
    }

    /// All entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &PathEntry> {
        self.entries.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(byte: u8, seq: u64) -> PathEntry {
        PathEntry {
            key: PublicKey([byte; 32]),
            source: 1,
            destination: NextHop::Local,
            seq,
            root: Root {
                key: PublicKey([9; 32]),
                seq: 1,
            },
            last_seen: Millis(1_000),
        }
    }

    #[test]
    fn stays_sorted_and_replaces_by_key() {
        let mut index = PathIndex::default();
        assert_eq!(index.upsert(entry(5, 1)), None);
        assert_eq!(index.upsert(entry(2, 1)), None);
        assert_eq!(index.upsert(entry(7, 1)), None);
        assert_eq!(index.upsert(entry(5, 2)), Some(entry(5, 1)));
        let keys: Vec<u8> = index.iter().map(|e| e.key.0[0]).collect();
        assert_eq!(keys, vec![2, 5, 7]);
        assert_eq!(index.get(&PublicKey([5; 32])).map(|e| e.seq), Some(2));
        let from: Vec<u8> = index
            .at_or_above(&PublicKey([3; 32]))
            .iter()
            .map(|e| e.key.0[0])
            .collect();
        assert_eq!(from, vec![5, 7]);
    }

    #[test]
    fn expiry_is_ten_seconds() {
        let e = entry(1, 1);
        assert!(e.is_live(Millis(10_999)));
        assert!(!e.is_live(Millis(11_000)));
    }

    #[test]
    fn an_expired_entry_serves_only_frames_already_on_it_for_the_grace() {
        let e = entry(1, 7);
        let on_it = e.watermark();
        let other = Watermark {
            key: PublicKey([1; 32]),
            seq: 6,
        };
        assert!(e.serves(other, Millis(10_999)));
        assert!(!e.serves(other, Millis(11_000)));
        assert!(e.serves(on_it, Millis(15_999)));
        assert!(!e.is_gone(Millis(15_999)));
        assert!(!e.serves(on_it, Millis(16_000)));
        assert!(e.is_gone(Millis(16_000)));
    }

    #[test]
    fn bootstraps_follow_an_entry_while_refreshed_or_already_on_it() {
        let e = entry(1, 7);
        let on_it = e.watermark();
        let other = Watermark::FRESH;
        assert!(e.guides_bootstraps(other, Millis(8_499)));
        assert!(!e.guides_bootstraps(other, Millis(8_500)));
        assert!(e.guides_bootstraps(on_it, Millis(15_999)));
        assert!(!e.guides_bootstraps(on_it, Millis(16_000)));
    }

    #[test]
    fn remove_where_reports_removed_keys() {
        let mut index = PathIndex::default();
        for byte in 1..=4 {
            index.upsert(entry(byte, u64::from(byte)));
        }
        let removed = index.remove_where(|e| e.seq % 2 == 0);
        assert_eq!(removed, vec![PublicKey([2; 32]), PublicKey([4; 32])]);
        assert_eq!(index.len(), 2);
    }
}
