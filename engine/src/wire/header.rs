//! The 10-byte header that starts every frame.

use super::cursor::{u16_len, Reader, Writer};
use super::error::{EncodeError, Field, ParseError};

/// The magic bytes that start every frame: `pine`.
pub const MAGIC: [u8; 4] = *b"pine";
/// Length of the frame header.
pub const HEADER_LEN: usize = 10;
/// The longest frame, header included.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;
/// The only frame version this implementation speaks.
pub const FRAME_VERSION: u8 = 0;

/// The type byte of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// Sent to a direct peer when nothing else was sent for a while.
    Keepalive = 0,
    /// A signed spanning-tree announcement, to a direct peer.
    TreeAnnouncement = 1,
    /// A SNEK bootstrap, forwarded toward the next key up.
    Bootstrap = 2,
    /// Application traffic, forwarded by tree or SNEK routing.
    Traffic = 3,
    /// A wakeup broadcast, flooded a few hops.
    WakeupBroadcast = 4,
}

impl FrameType {
    /// The frame type with this type byte, if there is one.
    pub fn from_byte(byte: u8) -> Option<FrameType> {
        match byte {
            0 => Some(FrameType::Keepalive),
            1 => Some(FrameType::TreeAnnouncement),
            2 => Some(FrameType::Bootstrap),
            3 => Some(FrameType::Traffic),
            4 => Some(FrameType::WakeupBroadcast),
            _ => None,
        }
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Frame version byte (0 for every frame this implementation handles).
    pub version: u8,
    /// Frame type byte; see [`FrameType`].
    pub frame_type: u8,
    /// The "extra" byte, unused by protocol version 1.
    pub extra: u8,
    /// Hops the frame may still take.
    pub hop_limit: u8,
    /// Total frame length including this header.
    pub length: u16,
}

impl Header {
    /// Reads a header from the front of `buf`, checking the magic bytes and
    /// that the length covers at least the header. It does not compare the
    /// length with `buf`.
    pub fn parse(buf: &[u8]) -> Result<Header, ParseError> {
        let mut r = Reader::new(buf);
        let header = Self::read(&mut r)?;
        Ok(header)
    }

    #[inline]
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Header, ParseError> {
        let magic = *r.array::<4>(Field::Header)?;
        if magic != MAGIC {
            return Err(ParseError::BadMagic(magic));
        }
        let [version, frame_type, extra, hop_limit] = *r.array::<4>(Field::Header)?;
        let length = r.u16(Field::Header)?;
        if usize::from(length) < HEADER_LEN {
            return Err(ParseError::LengthBelowHeader(length));
        }
        Ok(Header {
            version,
            frame_type,
            extra,
            hop_limit,
            length,
        })
    }

    /// Writes these 10 header bytes into `out`, exactly as they were read
    /// (a keepalive is a header alone), returning 10.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::with_capacity(out, HEADER_LEN)?;
        w.put(&MAGIC)?;
        w.put(&[self.version, self.frame_type, self.extra, self.hop_limit])?;
        w.u16(self.length)?;
        Ok(w.pos())
    }

    /// The frame type, if the type byte is known and the version and extra
    /// bytes are the ones protocol version 1 uses.
    pub fn known_type(&self) -> Option<FrameType> {
        if self.version != FRAME_VERSION || self.extra != 0 {
            return None;
        }
        FrameType::from_byte(self.frame_type)
    }
}

/// Starts a frame of `total_len` bytes in `out`: checks that it fits both
/// the 16-bit length and the buffer, then writes the header.
pub(crate) fn start_frame(
    out: &mut [u8],
    frame_type: FrameType,
    hop_limit: u8,
    total_len: usize,
) -> Result<Writer<'_>, EncodeError> {
    start_frame_part(out, frame_type, hop_limit, total_len, total_len)
}

/// Starts the first `part_len` bytes of a frame of `total_len` bytes in
/// `out`: checks that the frame fits the 16-bit length and the part fits
/// the buffer, then writes the header.
pub(crate) fn start_frame_part(
    out: &mut [u8],
    frame_type: FrameType,
    hop_limit: u8,
    total_len: usize,
    part_len: usize,
) -> Result<Writer<'_>, EncodeError> {
    let length = u16_len(total_len, Field::Header)?;
    let mut w = Writer::with_capacity(out, part_len)?;
    w.put(&MAGIC)?;
    w.put(&[FRAME_VERSION, frame_type as u8, 0, hop_limit])?;
    w.u16(length)?;
    Ok(w)
}
