//! SNEK watermarks: the (key, sequence) pair that keeps SNEK-routed frames
//! moving strictly closer to their destination.

use super::key::PublicKey;

/// A SNEK watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Watermark {
    /// The key the frame was last routed toward.
    pub key: PublicKey,
    /// The sequence of the path entry it was routed by (0: none).
    pub seq: u64,
}

impl Watermark {
    /// The watermark of a freshly sent frame: full mask key, sequence 0.
    pub const FRESH: Watermark = Watermark {
        key: PublicKey::FULL_MASK,
        seq: 0,
    };

    /// Whether `self` is worse than `other`: a higher key, or the same key
    /// with a non-zero sequence lower than `other`'s.
    pub fn is_worse_than(&self, other: &Watermark) -> bool {
        match self.key.cmp(&other.key) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.seq != 0 && self.seq < other.seq,
            std::cmp::Ordering::Less => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wm(first: u8, seq: u64) -> Watermark {
        let mut key = [0u8; 32];
        key[0] = first;
        Watermark {
            key: PublicKey(key),
            seq,
        }
    }

    #[test]
    fn higher_key_is_worse() {
        assert!(wm(2, 0).is_worse_than(&wm(1, 5)));
        assert!(!wm(1, 5).is_worse_than(&wm(2, 0)));
    }

    #[test]
    fn same_key_lower_nonzero_sequence_is_worse() {
        assert!(wm(1, 3).is_worse_than(&wm(1, 4)));
        assert!(!wm(1, 4).is_worse_than(&wm(1, 3)));
        assert!(!wm(1, 4).is_worse_than(&wm(1, 4)));
        // Sequence 0 is never worse on the same key.
        assert!(!wm(1, 0).is_worse_than(&wm(1, 9)));
    }

    #[test]
    fn fresh_is_worse_than_any_real_key() {
        assert!(Watermark::FRESH.is_worse_than(&wm(0xfe, 0)));
        assert!(!Watermark::FRESH.is_worse_than(&Watermark::FRESH));
    }
}
