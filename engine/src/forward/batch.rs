//! Batches of traffic frames crossing from one worker to another.

use super::port_map::SlotId;
use crate::wire::EncodeError;

/// One frame in a batch: where it goes and how long it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchEntry {
    pub(crate) slot: SlotId,
    pub(crate) len: usize,
}

/// Frames for peerings of one worker, stored back to back.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The worker whose pool the batch returns to once drained.
    pub(crate) origin: usize,
    bytes: Box<[u8]>,
    used: usize,
    entries: Vec<BatchEntry>,
}

impl Batch {
    /// An empty batch of `len` bytes.
    pub(crate) fn new(origin: usize, len: usize) -> Batch {
        Batch {
            origin,
            bytes: vec![0; len].into_boxed_slice(),
            used: 0,
            entries: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a frame that `emit` writes, for `slot`. Fails with
    /// `BufferTooSmall` when it does not fit in what is left.
    #[inline]
    pub(crate) fn push(
        &mut self,
        slot: SlotId,
        emit: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), EncodeError> {
        let space = self.bytes.get_mut(self.used..).unwrap_or_default();
        let len = emit(space)?;
        self.used += len;
        self.entries.push(BatchEntry { slot, len });
        Ok(())
    }

    /// The frames, with their entries.
    pub(crate) fn frames(&self) -> impl Iterator<Item = (BatchEntry, &[u8])> {
        let mut offset = 0;
        self.entries.iter().map(move |&entry| {
            let frame = self
                .bytes
                .get(offset..offset + entry.len)
                .unwrap_or_default();
            offset += entry.len;
            (entry, frame)
        })
    }

    /// Empties it for reuse.
    pub(crate) fn clear(&mut self) {
        self.used = 0;
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(frame: &'static [u8]) -> impl FnOnce(&mut [u8]) -> Result<usize, EncodeError> {
        move |out: &mut [u8]| match out.get_mut(..frame.len()) {
            Some(dst) => {
                dst.copy_from_slice(frame);
                Ok(frame.len())
            }
            None => Err(EncodeError::BufferTooSmall {
                needed: frame.len(),
                available: out.len(),
            }),
        }
    }

    #[test]
    fn frames_come_back_in_order_until_full() {
        let slot = SlotId {
            index: 1,
            generation: 2,
        };
        let mut batch = Batch::new(0, 8);
        let other = SlotId {
            index: 3,
            generation: 4,
        };
        batch.push(slot, copy(b"abc")).unwrap();
        batch.push(other, copy(b"defg")).unwrap();
        assert!(batch.push(slot, copy(b"hi")).is_err());
        let frames: Vec<(SlotId, &[u8])> = batch.frames().map(|(e, f)| (e.slot, f)).collect();
        assert_eq!(frames, vec![(slot, &b"abc"[..]), (other, &b"defg"[..])]);
        batch.clear();
        assert!(batch.is_empty());
        batch.push(slot, copy(b"hi")).unwrap();
    }
}
