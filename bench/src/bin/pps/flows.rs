//! The keys of many-flows traffic: source keys that never repeat from one
//! frame to the next, and destination keys that all route to the sink.

use pinecone_engine::wire::PublicKey;

/// `count` distinct source keys. Traffic frames are not signed, so any
/// bytes do; these are spread over the key space so that no two share a
/// prefix longer than a byte or two.
pub fn source_keys(count: usize) -> Vec<PublicKey> {
    (0..count as u64)
        .map(|i| {
            let mut key = [0u8; 32];
            let mut state = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d;
            for chunk in key.chunks_exact_mut(8) {
                // splitmix64: a different, well-mixed word per chunk.
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                chunk.copy_from_slice(&(z ^ (z >> 31)).to_be_bytes());
            }
            PublicKey(key)
        })
        .collect()
}

/// `count` destination keys just below `sink`: `sink − 1`, `sink − 2`, …
/// as 256-bit big-endian numbers. SNEK routes a key to the lowest known key
/// at or above it, so every one of them goes to the sink (unless another
/// known key falls in that tiny range, which a random key does with
/// negligible odds). With `count` 1 the sink's own key is the destination.
pub fn destination_keys(sink: PublicKey, count: usize) -> Vec<PublicKey> {
    if count <= 1 {
        return vec![sink];
    }
    (1..=count as u64)
        .map(|k| PublicKey(subtract(sink.0, k)))
        .collect()
}

/// `key − k` as big-endian numbers, saturating at zero.
fn subtract(key: [u8; 32], k: u64) -> [u8; 32] {
    let mut out = key;
    let mut borrow = u128::from(k);
    for byte in out.iter_mut().rev() {
        if borrow == 0 {
            break;
        }
        let take = (borrow & 0xff) as u8;
        let (value, under) = byte.overflowing_sub(take);
        *byte = value;
        borrow = (borrow >> 8) + u128::from(under);
    }
    if borrow > 0 {
        [0; 32]
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_distinct_and_just_below_the_sink() {
        let mut sink = [0u8; 32];
        sink[30] = 1; // 256: subtracting borrows across a byte.
        let sink = PublicKey(sink);
        let keys = destination_keys(sink, 300);
        assert_eq!(keys.len(), 300);
        assert!(keys.iter().all(|k| *k < sink));
        assert_eq!(keys[0].0[31], 255);
        assert_eq!(keys[255], PublicKey([0; 32]), "256 − 256");
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 256, "255 down to 0, then saturated");
        assert_eq!(destination_keys(sink, 1), vec![sink]);
    }

    #[test]
    fn sources_are_distinct() {
        let mut keys = source_keys(1024);
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 1024);
    }
}
