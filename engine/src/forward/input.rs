//! A peering's input buffer: the I/O driver reads into its free tail, the
//! worker takes whole frames from its head in place. The buffer itself is
//! lent by the worker's pool while it holds bytes, and given back as soon
//! as it is empty.

use super::buffer_pool::BufferPool;
use crate::wire::MAX_FRAME_LEN;

/// Bytes read from a peering and not yet taken as frames.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    /// `None` while empty: the buffer went back to the pool.
    buf: Option<Box<[u8]>>,
    head: usize,
    tail: usize,
}

impl InputBuffer {
    /// The free tail to read into, taking a buffer from `pool` if none is
    /// held. Moves waiting bytes to the front first when less than a
    /// maximum frame is free behind them.
    pub(crate) fn space(&mut self, pool: &mut BufferPool) -> &mut [u8] {
        let buf = self.buf.get_or_insert_with(|| pool.take());
        if self.head > 0 && buf.len() - self.tail < MAX_FRAME_LEN {
            buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        buf.get_mut(self.tail..).unwrap_or_default()
    }

    /// Records that the driver read `n` bytes into [`space`](Self::space);
    /// more than was free counts as all of it.
    pub(crate) fn commit(&mut self, n: usize) {
        let len = self.buf.as_ref().map_or(0, |buf| buf.len());
        self.tail = (self.tail + n).min(len);
    }

    /// The bytes waiting to be taken.
    pub(crate) fn pending(&self) -> &[u8] {
        let buf = self.buf.as_deref().unwrap_or_default();
        buf.get(self.head..self.tail).unwrap_or_default()
    }

    /// Takes `n` bytes from the head.
    pub(crate) fn consume(&mut self, n: usize) {
        self.head = (self.head + n).min(self.tail);
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Gives the buffer back to `pool` if it holds no bytes.
    pub(crate) fn release_if_empty(&mut self, pool: &mut BufferPool) {
        if self.tail == 0 {
            if let Some(buf) = self.buf.take() {
                pool.give(buf);
            }
        }
    }

    /// Gives the buffer back to `pool`, with whatever it holds.
    pub(crate) fn release(&mut self, pool: &mut BufferPool) {
        self.head = 0;
        self.tail = 0;
        self.release_if_empty(pool);
    }

    /// Whether a buffer is held.
    pub(crate) fn is_held(&self) -> bool {
        self.buf.is_some()
    }

    /// Whether a read could bring anything in.
    pub(crate) fn has_space(&self) -> bool {
        self.buf
            .as_ref()
            .is_none_or(|buf| self.tail < buf.len() || self.head > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &mut InputBuffer, pool: &mut BufferPool, bytes: &[u8]) {
        let space = input.space(pool);
        space[..bytes.len()].copy_from_slice(bytes);
        input.commit(bytes.len());
    }

    #[test]
    fn keeps_a_partial_frame_across_reads_and_compacts() {
        let len = 2 * MAX_FRAME_LEN;
        let mut pool = BufferPool::new(len, 1);
        let mut input = InputBuffer::default();
        let filler = vec![7u8; len - 100];
        read(&mut input, &mut pool, &filler);
        read(&mut input, &mut pool, b"abc");
        input.consume(len - 100);
        // Less than a frame is free behind "abc": it moves to the front.
        assert_eq!(input.space(&mut pool).len(), len - 3);
        assert_eq!(input.pending(), b"abc");
        read(&mut input, &mut pool, b"def");
        assert_eq!(input.pending(), b"abcdef");
        input.consume(6);
        assert_eq!(input.space(&mut pool).len(), len);
    }

    #[test]
    fn commit_and_consume_are_clamped() {
        let mut pool = BufferPool::new(16, 1);
        let mut input = InputBuffer::default();
        input.commit(100);
        assert!(input.pending().is_empty(), "nothing held, nothing read");
        input.space(&mut pool);
        input.commit(100);
        assert_eq!(input.pending().len(), 16);
        assert!(!input.has_space());
        input.consume(100);
        assert!(input.pending().is_empty() && input.has_space());
    }

    #[test]
    fn the_buffer_is_held_only_while_it_holds_bytes() {
        let mut pool = BufferPool::new(2 * MAX_FRAME_LEN, 1);
        let mut input = InputBuffer::default();
        assert!(!input.is_held() && input.has_space());
        read(&mut input, &mut pool, b"abcdef");
        input.consume(4);
        input.release_if_empty(&mut pool);
        assert!(input.is_held(), "two bytes wait");
        input.consume(2);
        input.release_if_empty(&mut pool);
        assert!(!input.is_held());
        assert_eq!(pool.spares(), 1);
        // A read of nothing takes a buffer and gives it back.
        input.space(&mut pool);
        input.commit(0);
        input.release_if_empty(&mut pool);
        assert!(!input.is_held());
        assert_eq!(pool.spares(), 1);
        read(&mut input, &mut pool, b"xyz");
        input.release(&mut pool);
        assert!(!input.is_held() && input.pending().is_empty());
    }
}
