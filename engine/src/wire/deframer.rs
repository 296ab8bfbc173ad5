//! Splitting a peering's byte stream into whole frames.

use super::cursor::Reader;
use super::error::ParseError;
use super::header::{Header, HEADER_LEN, MAGIC};

/// The length of the frame at the start of `buf`, once all of it is there.
///
/// Returns `Ok(None)` while more bytes are needed. Bad magic is reported as
/// soon as the first differing byte arrives; a header length below 10 as
/// soon as the header is complete.
#[inline]
pub fn frame_length(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    if buf.len() < HEADER_LEN {
        let seen = buf.len().min(MAGIC.len());
        if buf.get(..seen) != MAGIC.get(..seen) {
            let mut magic = [0u8; 4];
            magic.iter_mut().zip(buf).for_each(|(dst, &src)| *dst = src);
            return Err(ParseError::BadMagic(magic));
        }
        return Ok(None);
    }
    let header = Header::read(&mut Reader::new(buf))?;
    let len = usize::from(header.length);
    Ok((buf.len() >= len).then_some(len))
}

/// A streaming deframer for one peering.
///
/// Feed it the stream in chunks of any size with [`push`](Self::push), then
/// take whole frames with [`next_frame`](Self::next_frame) until it returns
/// `Ok(None)`. Frames are returned as slices of its buffer (no copy per
/// frame). A bad stream poisons it: every later call returns the same error,
/// since nothing after a framing error can be trusted.
///
/// Memory: the buffer holds what was pushed and not yet taken. A caller that
/// drains frames after each push holds at most one partial frame (under
/// 64 KiB) plus one chunk.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
    start: usize,
    error: Option<ParseError>,
}

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Deframer {
        Deframer::default()
    }

    /// Appends bytes read from the stream. Ignored once poisoned.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed, or the
    /// error that broke the stream.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, ParseError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        match frame_length(pending) {
            Ok(Some(len)) => {
                let start = self.start;
                self.start += len;
                Ok(self.buf.get(start..start + len))
            }
            Ok(None) => Ok(None),
            Err(error) => {
                self.error = Some(error);
                self.buf = Vec::new();
                self.start = 0;
                Err(error)
            }
        }
    }

    /// Bytes pushed and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether a framing error has broken the stream.
    pub fn is_poisoned(&self) -> bool {
        self.error.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEPALIVE: [u8; 10] = *b"pine\x00\x00\x00\x00\x00\x0a";

    #[test]
    fn byte_at_a_time() {
        let stream: Vec<u8> = KEEPALIVE.iter().chain(&KEEPALIVE).copied().collect();
        let mut d = Deframer::new();
        let mut frames = 0;
        for byte in &stream {
            d.push(std::slice::from_ref(byte));
            while let Some(frame) = d.next_frame().unwrap() {
                assert_eq!(frame, KEEPALIVE);
                frames += 1;
            }
        }
        assert_eq!(frames, 2);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn bad_magic_reported_on_first_wrong_byte() {
        assert_eq!(frame_length(b"pi"), Ok(None));
        assert_eq!(frame_length(b"px"), Err(ParseError::BadMagic(*b"px\0\0")));
    }

    #[test]
    fn short_length_is_an_error() {
        let mut d = Deframer::new();
        d.push(b"pine\x00\x00\x00\x00\x00\x09");
        assert_eq!(d.next_frame(), Err(ParseError::LengthBelowHeader(9)));
        // Poisoned: stays broken even after good bytes.
        d.push(&KEEPALIVE);
        assert_eq!(d.next_frame(), Err(ParseError::LengthBelowHeader(9)));
        assert!(d.is_poisoned());
    }
}
