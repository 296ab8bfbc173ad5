//! Wakeup broadcast frames, flooded a few hops so that nearby nodes learn of
//! a node.
//!
//! Body after the header: u16 payload length, source key, payload (a
//! [`RootPayload`](super::RootPayload) signed by the source key).

use super::cursor::{u16_len, Reader};
use super::error::{EncodeError, Field, ParseError};
use super::header::{start_frame, FrameType, Header, HEADER_LEN};
use super::key::PublicKey;

/// A checked view of a wakeup broadcast frame.
#[derive(Debug, Clone, Copy)]
pub struct BroadcastFrame<'a> {
    header: Header,
    source_key: &'a [u8; 32],
    payload: &'a [u8],
}

impl<'a> BroadcastFrame<'a> {
    pub(crate) fn read_body(header: Header, r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let payload_len = r.u16(Field::PayloadLength)?;
        let source_key = r.array::<32>(Field::SourceKey)?;
        let payload = r.take(usize::from(payload_len), Field::Payload)?;
        Ok(BroadcastFrame {
            header,
            source_key,
            payload,
        })
    }

    /// The frame header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Hops the broadcast may still take.
    pub fn hop_limit(&self) -> u8 {
        self.header.hop_limit
    }

    /// The key of the node that sent the broadcast.
    pub fn source_key(&self) -> PublicKey {
        PublicKey(*self.source_key)
    }

    /// The signed payload bytes; parse them with
    /// [`RootPayload::parse`](super::RootPayload::parse).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The decoded fields.
    pub fn to_repr(&self) -> BroadcastRepr<'a> {
        BroadcastRepr {
            hop_limit: self.header.hop_limit,
            source_key: self.source_key(),
            payload: self.payload,
        }
    }
}

/// The fields of a wakeup broadcast frame, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastRepr<'a> {
    /// Hops the broadcast may take.
    pub hop_limit: u8,
    /// The key of the node that sent the broadcast.
    pub source_key: PublicKey,
    /// The signed payload bytes.
    pub payload: &'a [u8],
}

impl BroadcastRepr<'_> {
    /// Length of the encoded frame.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + 2 + 32 + self.payload.len()
    }

    /// Writes the frame into `out`, returning its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let payload_len = u16_len(self.payload.len(), Field::Payload)?;
        let mut w = start_frame(
            out,
            FrameType::WakeupBroadcast,
            self.hop_limit,
            self.encoded_len(),
        )?;
        w.u16(payload_len)?;
        w.put(self.source_key.as_bytes())?;
        w.put(self.payload)?;
        Ok(w.pos())
    }
}
