//! Dispatch from raw frame bytes to a typed view.

use super::announcement::AnnouncementFrame;
use super::bootstrap::BootstrapFrame;
use super::broadcast::BroadcastFrame;
use super::cursor::Reader;
use super::error::{EncodeError, ParseError};
use super::header::{start_frame, FrameType, Header, HEADER_LEN};
use super::traffic::TrafficFrame;

/// One whole frame, checked and borrowed from its buffer.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A keepalive (no body).
    Keepalive(Header),
    /// A tree announcement.
    TreeAnnouncement(AnnouncementFrame<'a>),
    /// A SNEK bootstrap.
    Bootstrap(BootstrapFrame<'a>),
    /// Application traffic.
    Traffic(TrafficFrame<'a>),
    /// A wakeup broadcast.
    WakeupBroadcast(BroadcastFrame<'a>),
    /// A frame with a consistent length but an unknown type, version or
    /// extra byte: to be dropped and counted, not fatal to the peering.
    Unknown(Header),
}

impl<'a> Frame<'a> {
    /// Checks that `buf` holds exactly one frame and returns its typed view.
    ///
    /// Fails on bad magic, a header length that differs from `buf.len()`, a
    /// truncated or malformed field, or bytes after the last field.
    #[inline]
    pub fn parse(buf: &'a [u8]) -> Result<Frame<'a>, ParseError> {
        let mut r = Reader::new(buf);
        let header = Header::read(&mut r)?;
        if usize::from(header.length) != buf.len() {
            return Err(ParseError::LengthMismatch {
                declared: usize::from(header.length),
                actual: buf.len(),
            });
        }
        let frame = match header.known_type() {
            None => return Ok(Frame::Unknown(header)),
            Some(FrameType::Keepalive) => Frame::Keepalive(header),
            Some(FrameType::TreeAnnouncement) => {
                Frame::TreeAnnouncement(AnnouncementFrame::read_body(header, &mut r)?)
            }
            Some(FrameType::Bootstrap) => {
                Frame::Bootstrap(BootstrapFrame::read_body(header, &mut r)?)
            }
            Some(FrameType::Traffic) => Frame::Traffic(TrafficFrame::read_body(header, &mut r)?),
            Some(FrameType::WakeupBroadcast) => {
                Frame::WakeupBroadcast(BroadcastFrame::read_body(header, &mut r)?)
            }
        };
        r.finish()?;
        Ok(frame)
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        match self {
            Frame::Keepalive(h) | Frame::Unknown(h) => *h,
            Frame::TreeAnnouncement(f) => f.header(),
            Frame::Bootstrap(f) => f.header(),
            Frame::Traffic(f) => f.header(),
            Frame::WakeupBroadcast(f) => f.header(),
        }
    }
}

/// Writes a keepalive frame into `out`, returning its length (10).
pub fn emit_keepalive(out: &mut [u8]) -> Result<usize, EncodeError> {
    let w = start_frame(out, FrameType::Keepalive, 0, HEADER_LEN)?;
    Ok(w.pos())
}
