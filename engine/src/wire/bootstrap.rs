//! Bootstrap frames: a node's signed request to find the next key up on the
//! virtual line, routed by SNEK.
//!
//! Body after the header: u16 payload length, destination key (the node
//! bootstrapping), watermark key, watermark sequence (varu64), payload (a
//! [`RootPayload`](super::RootPayload) signed by the destination key).

use super::cursor::{u16_len, Reader};
use super::error::{EncodeError, Field, ParseError};
use super::header::{start_frame, FrameType, Header, HEADER_LEN};
use super::key::PublicKey;
use super::varu64;
use super::watermark::Watermark;

/// A checked view of a bootstrap frame.
#[derive(Debug, Clone, Copy)]
pub struct BootstrapFrame<'a> {
    header: Header,
    dest_key: &'a [u8; 32],
    watermark: Watermark,
    payload: &'a [u8],
}

impl<'a> BootstrapFrame<'a> {
    pub(crate) fn read_body(header: Header, r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let payload_len = r.u16(Field::PayloadLength)?;
        let dest_key = r.array::<32>(Field::DestinationKey)?;
        let key = r.key(Field::WatermarkKey)?;
        let seq = r.varu64(Field::WatermarkSequence)?;
        let payload = r.take(usize::from(payload_len), Field::Payload)?;
        Ok(BootstrapFrame {
            header,
            dest_key,
            watermark: Watermark { key, seq },
            payload,
        })
    }

    /// The frame header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The key of the node that is bootstrapping.
    pub fn dest_key(&self) -> PublicKey {
        PublicKey(*self.dest_key)
    }

    /// The SNEK watermark.
    pub fn watermark(&self) -> Watermark {
        self.watermark
    }

    /// The signed payload bytes; parse them with
    /// [`RootPayload::parse`](super::RootPayload::parse).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The decoded fields.
    pub fn to_repr(&self) -> BootstrapRepr<'a> {
        BootstrapRepr {
            hop_limit: self.header.hop_limit,
            dest_key: self.dest_key(),
            watermark: self.watermark,
            payload: self.payload,
        }
    }
}

/// The fields of a bootstrap frame, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapRepr<'a> {
    /// Hop limit byte (0 in bootstraps the reference sends).
    pub hop_limit: u8,
    /// The key of the node that is bootstrapping.
    pub dest_key: PublicKey,
    /// The SNEK watermark.
    pub watermark: Watermark,
    /// The signed payload bytes.
    pub payload: &'a [u8],
}

impl BootstrapRepr<'_> {
    /// Length of the encoded frame.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + 2 + 32 + 32 + varu64::encoded_len(self.watermark.seq) + self.payload.len()
    }

    /// Writes the frame into `out`, returning its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let payload_len = u16_len(self.payload.len(), Field::Payload)?;
        let mut w = start_frame(
            out,
            FrameType::Bootstrap,
            self.hop_limit,
            self.encoded_len(),
        )?;
        w.u16(payload_len)?;
        w.put(self.dest_key.as_bytes())?;
        w.put(self.watermark.key.as_bytes())?;
        w.varu64(self.watermark.seq)?;
        w.put(self.payload)?;
        Ok(w.pos())
    }
}
