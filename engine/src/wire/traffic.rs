//! Traffic frames: application datagrams routed by tree coordinates or, when
//! the destination coordinates are empty, by SNEK with a watermark.
//!
//! Body after the header: u16 payload length, destination coordinates,
//! source coordinates, destination key, source key, *only when the
//! destination coordinates are empty* the watermark key and varu64 sequence,
//! then the payload.

use super::coords::{Coords, CoordsView};
use super::cursor::{u16_len, Reader};
use super::error::{EncodeError, Field, ParseError};
use super::header::{start_frame, start_frame_part, FrameType, Header, HEADER_LEN};
use super::key::PublicKey;
use super::varu64;
use super::watermark::Watermark;

/// Hop limit of a traffic frame sent by the local node.
pub const DEFAULT_HOP_LIMIT: u8 = 10;

/// A checked view of a traffic frame.
#[derive(Debug, Clone, Copy)]
pub struct TrafficFrame<'a> {
    header: Header,
    dest_coords: CoordsView<'a>,
    src_coords: CoordsView<'a>,
    dest_key: &'a [u8; 32],
    src_key: &'a [u8; 32],
    watermark: Option<Watermark>,
    payload: &'a [u8],
}

impl<'a> TrafficFrame<'a> {
    #[inline]
    pub(crate) fn read_body(header: Header, r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let payload_len = r.u16(Field::PayloadLength)?;
        let dest_coords = CoordsView::read(r, Field::DestinationCoords)?;
        let src_coords = CoordsView::read(r, Field::SourceCoords)?;
        let dest_key = r.array::<32>(Field::DestinationKey)?;
        let src_key = r.array::<32>(Field::SourceKey)?;
        let watermark = if dest_coords.is_empty() {
            let key = r.key(Field::WatermarkKey)?;
            let seq = r.varu64(Field::WatermarkSequence)?;
            Some(Watermark { key, seq })
        } else {
            None
        };
        let payload = r.take(usize::from(payload_len), Field::Payload)?;
        Ok(TrafficFrame {
            header,
            dest_coords,
            src_coords,
            dest_key,
            src_key,
            watermark,
            payload,
        })
    }

    /// The frame header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Hops the frame may still take.
    pub fn hop_limit(&self) -> u8 {
        self.header.hop_limit
    }

    /// Destination coordinates; empty for a SNEK-routed frame.
    pub fn dest_coords(&self) -> CoordsView<'a> {
        self.dest_coords
    }

    /// Source coordinates.
    pub fn src_coords(&self) -> CoordsView<'a> {
        self.src_coords
    }

    /// Destination public key.
    pub fn dest_key(&self) -> PublicKey {
        PublicKey(*self.dest_key)
    }

    /// Source public key.
    pub fn src_key(&self) -> PublicKey {
        PublicKey(*self.src_key)
    }

    /// The watermark carried on the wire, present exactly when the
    /// destination coordinates are empty.
    pub fn wire_watermark(&self) -> Option<Watermark> {
        self.watermark
    }

    /// The frame's SNEK watermark: the one on the wire, or the fresh
    /// watermark (full mask, 0) for a tree-routed frame, as the reference
    /// decodes it.
    pub fn watermark(&self) -> Watermark {
        self.watermark.unwrap_or(Watermark::FRESH)
    }

    /// The application payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Length of this frame once re-routed by SNEK with `watermark` (see
    /// [`emit_snek`](Self::emit_snek)).
    pub fn snek_encoded_len(&self, watermark: &Watermark) -> usize {
        HEADER_LEN
            + 2
            + 2
            + 2
            + self.src_coords.body().len()
            + 64
            + 32
            + varu64::encoded_len(watermark.seq)
            + self.payload.len()
    }

    /// Writes this frame into `out` as routed by SNEK from here on: with
    /// `hop_limit`, its destination coordinates cleared and carrying
    /// `watermark`, every other field as received; returns its length.
    ///
    /// The bytes are those of [`to_repr`](Self::to_repr) with these three
    /// fields changed and emitted, but written straight from the view:
    /// nothing is decoded or allocated (varu64s are canonical, so the
    /// source coordinates are copied as they are).
    pub fn emit_snek(
        &self,
        hop_limit: u8,
        watermark: &Watermark,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let len = self.snek_encoded_len(watermark);
        let head = self.emit_snek_head(hop_limit, watermark, out)?;
        let Some(dst) = out.get_mut(head..len) else {
            return Err(EncodeError::BufferTooSmall {
                needed: len,
                available: out.len(),
            });
        };
        dst.copy_from_slice(self.payload);
        Ok(len)
    }

    /// Writes the head of [`emit_snek`](Self::emit_snek)'s frame into
    /// `out`: every field before the payload, the header giving the whole
    /// frame's length. Returns the head's length; the payload follows it.
    pub fn emit_snek_head(
        &self,
        hop_limit: u8,
        watermark: &Watermark,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let payload_len = u16_len(self.payload.len(), Field::Payload)?;
        let src_coords = self.src_coords.body();
        let src_coords_len = u16_len(src_coords.len(), Field::SourceCoords)?;
        let len = self.snek_encoded_len(watermark);
        let head_len = len - self.payload.len();
        let mut w = start_frame_part(out, FrameType::Traffic, hop_limit, len, head_len)?;
        w.u16(payload_len)?;
        w.u16(0)?;
        w.u16(src_coords_len)?;
        w.put(src_coords)?;
        w.put(self.dest_key)?;
        w.put(self.src_key)?;
        w.put(watermark.key.as_bytes())?;
        w.varu64(watermark.seq)?;
        Ok(w.pos())
    }

    /// The decoded fields (allocates the coordinate lists).
    pub fn to_repr(&self) -> TrafficRepr<'a> {
        TrafficRepr {
            hop_limit: self.header.hop_limit,
            dest_coords: self.dest_coords.to_coords(),
            src_coords: self.src_coords.to_coords(),
            dest_key: self.dest_key(),
            src_key: self.src_key(),
            watermark: self.watermark(),
            payload: self.payload,
        }
    }
}

/// The fields of a traffic frame, for building one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficRepr<'a> {
    /// Hops the frame may take.
    pub hop_limit: u8,
    /// Destination coordinates; empty to route by SNEK.
    pub dest_coords: Coords,
    /// Source coordinates.
    pub src_coords: Coords,
    /// Destination public key.
    pub dest_key: PublicKey,
    /// Source public key.
    pub src_key: PublicKey,
    /// SNEK watermark, written only when `dest_coords` is empty.
    pub watermark: Watermark,
    /// Application payload.
    pub payload: &'a [u8],
}

impl TrafficRepr<'_> {
    /// Length of the encoded frame.
    pub fn encoded_len(&self) -> usize {
        let watermark = if self.dest_coords.is_root() {
            32 + varu64::encoded_len(self.watermark.seq)
        } else {
            0
        };
        HEADER_LEN
            + 2
            + self.dest_coords.encoded_len()
            + self.src_coords.encoded_len()
            + 64
            + watermark
            + self.payload.len()
    }

    /// Writes the frame into `out`, returning its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let payload_len = u16_len(self.payload.len(), Field::Payload)?;
        let mut w = start_frame(out, FrameType::Traffic, self.hop_limit, self.encoded_len())?;
        w.u16(payload_len)?;
        self.dest_coords.write(&mut w, Field::DestinationCoords)?;
        self.src_coords.write(&mut w, Field::SourceCoords)?;
        w.put(self.dest_key.as_bytes())?;
        w.put(self.src_key.as_bytes())?;
        if self.dest_coords.is_root() {
            w.put(self.watermark.key.as_bytes())?;
            w.varu64(self.watermark.seq)?;
        }
        w.put(self.payload)?;
        Ok(w.pos())
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::frame::Frame;
    use super::*;

    fn key() -> impl Strategy<Value = PublicKey> {
        any::<[u8; 32]>().prop_map(PublicKey)
    }

    fn coords() -> impl Strategy<Value = Coords> {
        vec(prop_oneof![0u64..300, any::<u64>()], 0..6).prop_map(Coords)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Re-routing from the view writes the bytes that decoding,
        /// changing the three fields and encoding again writes.
        #[test]
        fn emit_snek_matches_the_decoded_rewrite(
            hop_limit in any::<u8>(),
            new_hop_limit in any::<u8>(),
            dest_coords in coords(),
            src_coords in coords(),
            dest_key in key(),
            src_key in key(),
            old_seq in any::<u64>(),
            old_key in key(),
            new_seq in prop_oneof![0u64..300, any::<u64>()],
            new_key in key(),
            payload in vec(any::<u8>(), 0..300),
        ) {
            let received = TrafficRepr {
                hop_limit,
                dest_coords,
                src_coords,
                dest_key,
                src_key,
                watermark: Watermark { key: old_key, seq: old_seq },
                payload: &payload,
            };
            let mut raw = vec![0u8; received.encoded_len()];
            received.emit(&mut raw).unwrap();
            let Ok(Frame::Traffic(frame)) = Frame::parse(&raw) else {
                panic!("not a traffic frame");
            };
            let watermark = Watermark { key: new_key, seq: new_seq };
            let mut expected = frame.to_repr();
            expected.hop_limit = new_hop_limit;
            expected.dest_coords = Coords::ROOT;
            expected.watermark = watermark;
            let mut want = vec![0u8; expected.encoded_len()];
            expected.emit(&mut want).unwrap();

            prop_assert_eq!(frame.snek_encoded_len(&watermark), want.len());
            let mut got = vec![0u8; want.len()];
            prop_assert_eq!(frame.emit_snek(new_hop_limit, &watermark, &mut got), Ok(want.len()));
            prop_assert_eq!(&got, &want);
            let mut head = vec![0u8; want.len()];
            let head_len = frame.emit_snek_head(new_hop_limit, &watermark, &mut head).unwrap();
            prop_assert_eq!(head_len, want.len() - payload.len());
            prop_assert_eq!(&head[..head_len], &want[..head_len]);
            // One byte short is refused, never truncated.
            let short = want.len() - 1;
            let refused = frame.emit_snek(new_hop_limit, &watermark, &mut got[..short]);
            let is_too_small = matches!(refused, Err(EncodeError::BufferTooSmall { .. }));
            prop_assert!(is_too_small);
        }
    }
}
