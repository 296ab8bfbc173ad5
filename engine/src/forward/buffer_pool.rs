//! Per-peering buffers lent on demand: a worker takes one when a peering
//! has bytes to hold and gives it back as soon as it is empty, so an idle
//! peering holds none. Buffers given back are kept as spares for the next
//! taker, as many as were in use at once in the worker's last two rounds
//! (and at least a configured few), so peerings busy round after round
//! never wait on the allocator, however many they are, and after a burst
//! the spares shrink back within two rounds.

/// Buffers of one length lent to a worker's peerings, with spares.
#[derive(Debug)]
pub(crate) struct BufferPool {
    len: usize,
    spares: Vec<Box<[u8]>>,
    /// Spares kept whatever the rounds needed.
    min_spares: usize,
    /// Buffers lent and not given back.
    lent: usize,
    /// Most lent at once in this round.
    peak: usize,
    /// Most lent at once in the round before.
    previous_peak: usize,
}

impl BufferPool {
    /// A pool of `len`-byte buffers keeping at least `min_spares` spares.
    pub(crate) fn new(len: usize, min_spares: usize) -> BufferPool {
        BufferPool {
            len,
            spares: Vec::new(),
            min_spares,
            lent: 0,
            peak: 0,
            previous_peak: 0,
        }
    }

    /// A spare buffer, or a new one (allocated zeroed, so its untouched
    /// pages cost no memory until written).
    #[inline]
    pub(crate) fn take(&mut self) -> Box<[u8]> {
        self.lent += 1;
        self.peak = self.peak.max(self.lent);
        self.spares
            .pop()
            .unwrap_or_else(|| vec![0; self.len].into_boxed_slice())
    }

    /// Takes back a buffer no longer needed: kept as a spare while fewer
    /// are kept than [`keep`](Self::keep) allows, freed otherwise.
    #[inline]
    pub(crate) fn give(&mut self, buffer: Box<[u8]>) {
        self.lent = self.lent.saturating_sub(1);
        if self.spares.len() < self.keep() && buffer.len() == self.len {
            self.spares.push(buffer);
        }
    }

    /// Starts a round: frees the spares past what this round and the last
    /// one needed.
    pub(crate) fn begin_round(&mut self) {
        self.previous_peak = self.peak;
        self.peak = self.lent;
        let keep = self.keep();
        self.spares.truncate(keep);
    }

    /// Spares that may be kept: as many as were lent at once in this round
    /// or the one before, and at least the minimum.
    fn keep(&self) -> usize {
        self.min_spares.max(self.peak).max(self.previous_peak)
    }

    /// Spare buffers kept.
    pub(crate) fn spares(&self) -> usize {
        self.spares.len()
    }
}

/// The buffers a [`Worker`](super::Worker) holds: lent to its peerings,
/// and spare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferCounts {
    /// Peerings holding an input buffer (bytes read and not yet taken as
    /// frames), each [`input_buffer_len`](super::ForwardConfig::input_buffer_len)
    /// bytes.
    pub input: usize,
    /// Peerings holding a traffic lane (traffic waiting to be written),
    /// each [`traffic_lane_len`](super::ForwardConfig::traffic_lane_len)
    /// bytes.
    pub traffic: usize,
    /// Spare input buffers kept for reuse.
    pub spare_input: usize,
    /// Spare traffic lanes kept for reuse.
    pub spare_traffic: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_reused_and_kept_for_what_the_last_two_rounds_needed() {
        let mut pool = BufferPool::new(8, 2);
        pool.begin_round();
        let taken: Vec<Box<[u8]>> = (0..5).map(|_| pool.take()).collect();
        assert!(taken.iter().all(|b| b.len() == 8));
        let addresses: Vec<*const u8> = taken.iter().map(|b| b.as_ptr()).collect();
        for buffer in taken {
            pool.give(buffer);
        }
        assert_eq!(pool.spares(), 5, "five were in use at once");
        // The next round takes them back without allocating.
        pool.begin_round();
        let again: Vec<Box<[u8]>> = (0..5).map(|_| pool.take()).collect();
        assert!(again.iter().all(|b| addresses.contains(&b.as_ptr())));
        for buffer in again.into_iter().skip(1) {
            pool.give(buffer);
        }
        // A quieter round, then another: back to the minimum, the one
        // still lent aside.
        pool.begin_round();
        assert_eq!(pool.spares(), 4);
        pool.begin_round();
        assert_eq!(pool.spares(), 2);
        // A buffer of another length is never kept.
        pool.give(vec![0; 4].into_boxed_slice());
        assert_eq!(pool.spares(), 2);
    }
}
