//! Bounds-checked reading and writing over byte slices, shared by the
//! parsers and encoders of this module.

use super::error::{EncodeError, Field, ParseError};
use super::key::PublicKey;
use super::varu64;

/// Reads fields from the front of a byte slice. Every read is checked and
/// names the field it was reading when the input runs out.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Offset of the next unread byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    #[inline]
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn take(&mut self, len: usize, field: Field) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(len)
            .ok_or(ParseError::Truncated(field))?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(ParseError::Truncated(field))?;
        self.pos = end;
        Ok(bytes)
    }

    #[inline]
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: Field,
    ) -> Result<&'a [u8; N], ParseError> {
        let bytes = self.take(N, field)?;
        bytes.try_into().map_err(|_| ParseError::Truncated(field))
    }

    #[inline]
    pub(crate) fn u16(&mut self, field: Field) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(*self.array::<2>(field)?))
    }

    #[inline]
    pub(crate) fn key(&mut self, field: Field) -> Result<PublicKey, ParseError> {
        Ok(PublicKey(*self.array::<32>(field)?))
    }

    #[inline]
    pub(crate) fn varu64(&mut self, field: Field) -> Result<u64, ParseError> {
        let (value, len) = varu64::decode(self.remaining(), field)?;
        self.pos += len;
        Ok(value)
    }

    /// Fails unless every byte has been read.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), ParseError> {
        match self.remaining().len() {
            0 => Ok(()),
            n => Err(ParseError::TrailingBytes(n)),
        }
    }
}

/// Writes fields into a caller's buffer, refusing to run past its end.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the front of `buf`, after checking that `needed`
    /// bytes fit, so that no write below can fail half-way.
    pub(crate) fn with_capacity(buf: &'a mut [u8], needed: usize) -> Result<Self, EncodeError> {
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        Ok(Writer { buf, pos: 0 })
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let available = self.buf.len();
        let end = self.pos + bytes.len();
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall {
                needed: end,
                available,
            })?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn u16(&mut self, value: u16) -> Result<(), EncodeError> {
        self.put(&value.to_be_bytes())
    }

    pub(crate) fn varu64(&mut self, value: u64) -> Result<(), EncodeError> {
        let available = self.buf.len();
        let rest = self.buf.get_mut(self.pos..).unwrap_or_default();
        let n = varu64::encode(value, rest).map_err(|_| EncodeError::BufferTooSmall {
            needed: self.pos + varu64::encoded_len(value),
            available,
        })?;
        self.pos += n;
        Ok(())
    }

    /// The bytes written so far.
    pub(crate) fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }
}

/// Converts a length to the u16 a length field holds, or says which field
/// would overflow.
pub(crate) fn u16_len(len: usize, field: Field) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::TooLarge { field, len })
}
