//! A ring of provided buffers shared by every peering of one io_uring
//! driver: the kernel picks a buffer only when a multishot receive has
//! bytes to put in it, so idle peerings hold no receive memory at all.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::Submitter;
use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};

/// Buffers a driver shares among its peerings and bytes per buffer: 1 MiB
/// per driver, touched only as far as traffic fills it.
pub(crate) const BUFFERS: u16 = 64;
/// Bytes per provided buffer.
pub(crate) const BUFFER_LEN: usize = 16 << 10;

/// The ring and its buffers, in memory mapped for the purpose (so that the
/// kernel's writes never alias memory Rust manages).
pub(crate) struct BufRing {
    /// The ring of entries the kernel takes buffers from.
    entries: NonNull<BufRingEntry>,
    entries_len: usize,
    /// `count` buffers of `buffer_len` bytes, back to back.
    buffers: NonNull<u8>,
    buffers_len: usize,
    buffer_len: usize,
    count: u16,
    /// Our copy of the ring's tail (the kernel only reads it).
    tail: u16,
    /// Buffers handed to the kernel and not yet used by it: counted down by
    /// each buffer a completion names, up by each recycled.
    in_ring: usize,
}

impl BufRing {
    /// Maps a ring of `count` buffers (a power of two up to 32,768) of
    /// `buffer_len` bytes each and puts every buffer in it.
    pub(crate) fn new(count: u16, buffer_len: usize) -> io::Result<BufRing> {
        if !count.is_power_of_two() || count > 1 << 15 || buffer_len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a buffer ring needs a power-of-two count up to 32,768 and non-empty buffers",
            ));
        }
        let entries_len = usize::from(count) * std::mem::size_of::<BufRingEntry>();
        let buffers_len = usize::from(count) * buffer_len;
        let entries = map(entries_len)?.cast::<BufRingEntry>();
        let buffers = match map(buffers_len) {
            Ok(buffers) => buffers,
            Err(error) => {
                unmap(entries.cast(), entries_len);
                return Err(error);
            }
        };
        let mut ring = BufRing {
            entries,
            entries_len,
            buffers,
            buffers_len,
            buffer_len,
            count,
            tail: 0,
            in_ring: 0,
        };
        for id in 0..count {
            ring.push(id);
        }
        ring.publish();
        Ok(ring)
    }

    /// Registers the ring with `submitter` as buffer group `group`.
    pub(crate) fn register(&self, submitter: &Submitter<'_>, group: u16) -> io::Result<()> {
        // SAFETY: the entries are a live mapping of `count` entries, and
        // stay mapped until this value drops, which the driver arranges to
        // happen only after the ring itself is gone (and with it the
        // registration) or no receive can still use a buffer.
        #[allow(unsafe_code)]
        unsafe {
            submitter.register_buf_ring_with_flags(
                self.entries.as_ptr() as u64,
                self.count,
                group,
                0,
            )
        }
    }

    /// The bytes the kernel put in buffer `id` (`len` of them).
    pub(crate) fn bytes(&self, id: u16, len: usize) -> &[u8] {
        let len = len.min(self.buffer_len);
        if id >= self.count {
            return &[];
        }
        // SAFETY: buffer `id` lies inside the mapping, and the kernel wrote
        // it before posting the completion that named it; it does not write
        // it again until `recycle` gives it back.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(
                self.buffers.as_ptr().add(usize::from(id) * self.buffer_len),
                len,
            )
        }
    }

    /// Notes that a completion took buffer `id` out of the ring.
    pub(crate) fn taken(&mut self) {
        self.in_ring = self.in_ring.saturating_sub(1);
    }

    /// Gives buffer `id` back to the kernel.
    pub(crate) fn recycle(&mut self, id: u16) {
        if id < self.count {
            self.push(id);
            self.publish();
        }
    }

    /// Buffers the kernel can still fill.
    pub(crate) fn available(&self) -> usize {
        self.in_ring
    }

    fn push(&mut self, id: u16) {
        let slot = usize::from(self.tail & (self.count - 1));
        // SAFETY: `slot` is below `count`, inside the entries mapping; the
        // kernel reads only entries between its head and the published
        // tail, and this one is past the tail until `publish`.
        #[allow(unsafe_code)]
        let entry = unsafe { &mut *self.entries.as_ptr().add(slot) };
        entry.set_addr(self.buffers.as_ptr() as u64 + (usize::from(id) * self.buffer_len) as u64);
        entry.set_len(self.buffer_len as u32);
        entry.set_bid(id);
        self.tail = self.tail.wrapping_add(1);
        self.in_ring += 1;
    }

    /// Makes the entries pushed so far visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail is the 16-bit field the kernel reads at the start
        // of the entries mapping; it is only written here, atomically.
        #[allow(unsafe_code)]
        let tail = unsafe { &*(BufRingEntry::tail(self.entries.as_ptr()) as *const AtomicU16) };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        unmap(self.entries.cast(), self.entries_len);
        unmap(self.buffers, self.buffers_len);
    }
}

fn map(len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: a fresh anonymous private mapping, not aliasing anything.
    #[allow(unsafe_code)]
    let address = unsafe {
        mmap_anonymous(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    }?;
    NonNull::new(address.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
}

fn unmap(address: NonNull<u8>, len: usize) {
    // SAFETY: `address` and `len` are a mapping made by `map` and no longer
    // used by anyone.
    #[allow(unsafe_code)]
    let _ = unsafe { munmap(address.as_ptr().cast(), len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buffer_starts_in_the_ring_and_comes_back() {
        let mut ring = BufRing::new(8, 64).expect("map");
        assert_eq!(ring.available(), 8);
        ring.taken();
        ring.taken();
        assert_eq!(ring.available(), 6);
        ring.recycle(3);
        assert_eq!(ring.available(), 7);
        ring.recycle(99);
        assert_eq!(ring.available(), 7, "an unknown buffer is ignored");
        assert_eq!(ring.bytes(1, 1_000).len(), 64, "clamped to a buffer");
        assert!(ring.bytes(8, 1).is_empty());
    }

    #[test]
    fn counts_must_be_powers_of_two() {
        assert!(BufRing::new(6, 64).is_err());
        assert!(BufRing::new(8, 0).is_err());
    }
}
