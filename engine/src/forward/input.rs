//! A peering's input buffer: the I/O driver reads into its free tail, the
//! worker takes whole frames from its head in place.

use crate::wire::MAX_FRAME_LEN;

/// Bytes read from a peering and not yet taken as frames.
#[derive(Debug)]
pub(crate) struct InputBuffer {
    buf: Box<[u8]>,
    head: usize,
    tail: usize,
}

impl InputBuffer {
    /// An empty buffer of `len` bytes (allocated zeroed, so untouched pages
    /// cost no memory).
    pub(crate) fn new(len: usize) -> InputBuffer {
        InputBuffer {
            buf: vec![0; len].into_boxed_slice(),
            head: 0,
            tail: 0,
        }
    }

    /// The free tail to read into. Moves waiting bytes to the front first
    /// when less than a maximum frame is free behind them.
    pub(crate) fn space(&mut self) -> &mut [u8] {
        if self.head > 0 && self.buf.len() - self.tail < MAX_FRAME_LEN {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        self.buf.get_mut(self.tail..).unwrap_or_default()
    }

    /// Records that the driver read `n` bytes into [`space`](Self::space);
    /// more than was free counts as all of it.
    pub(crate) fn commit(&mut self, n: usize) {
        self.tail = (self.tail + n).min(self.buf.len());
    }

    /// The bytes waiting to be taken.
    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.head..self.tail).unwrap_or_default()
    }

    /// Takes `n` bytes from the head.
    pub(crate) fn consume(&mut self, n: usize) {
        self.head = (self.head + n).min(self.tail);
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Whether a read could bring anything in.
    pub(crate) fn has_space(&self) -> bool {
        self.tail < self.buf.len() || self.head > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &mut InputBuffer, bytes: &[u8]) {
        let space = input.space();
        space[..bytes.len()].copy_from_slice(bytes);
        input.commit(bytes.len());
    }

    #[test]
    fn keeps_a_partial_frame_across_reads_and_compacts() {
        let len = 2 * MAX_FRAME_LEN;
        let mut input = InputBuffer::new(len);
        let filler = vec![7u8; len - 100];
        read(&mut input, &filler);
        read(&mut input, b"abc");
        input.consume(len - 100);
        // Less than a frame is free behind "abc": it moves to the front.
        assert_eq!(input.space().len(), len - 3);
        assert_eq!(input.pending(), b"abc");
        read(&mut input, b"def");
        assert_eq!(input.pending(), b"abcdef");
        input.consume(6);
        assert_eq!(input.space().len(), len);
    }

    #[test]
    fn commit_and_consume_are_clamped() {
        let mut input = InputBuffer::new(16);
        input.commit(100);
        assert_eq!(input.pending().len(), 16);
        assert!(!input.has_space());
        input.consume(100);
        assert!(input.pending().is_empty() && input.has_space());
    }
}
