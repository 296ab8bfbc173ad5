//! WebSocket framing (RFC 6455) as the server side of an accepted peering
//! speaks it, with no I/O: a decoder that turns the client's masked frames
//! into stream bytes, and encoders for the frames we send.
//!
//! Pinecone carries its byte stream in binary messages and ignores message
//! boundaries, so the decoder never buffers a message: payload bytes are
//! unmasked and handed on as they arrive, and only the small payload of a
//! control frame (at most 125 bytes) is kept. It can decode in place, over
//! the very buffer the raw bytes were read into, because a frame's payload
//! is never longer than the bytes that carried it.

use thiserror::Error;

/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask.
const MAX_HEADER_LEN: usize = 14;
/// The longest payload of a control frame.
const MAX_CONTROL_LEN: usize = 125;

/// Opcodes of the frames we act on.
const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Why a client's frames were refused: each ends the peering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum FrameError {
    /// A client must mask every frame.
    #[error("the client sent an unmasked frame")]
    Unmasked,
    /// No extension was negotiated, so no reserved bit may be set.
    #[error("a reserved bit is set")]
    ReservedBits,
    /// Only binary messages carry a peering.
    #[error("the client sent a text message; only binary messages carry a peering")]
    Text,
    /// An opcode RFC 6455 leaves reserved.
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    /// A control frame that is fragmented or longer than 125 bytes.
    #[error("malformed control frame")]
    BadControlFrame,
    /// A continuation with no message open, or a new message before the
    /// open one finished.
    #[error("fragments out of order")]
    BadFragmentation,
    /// A 64-bit length with its top bit set.
    #[error("frame length out of range")]
    BadLength,
}

/// A control frame the client sent that its connection's owner must act
/// on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// Answer with a pong carrying this payload.
    Ping(Vec<u8>),
    /// The client closed the WebSocket.
    Close,
}

/// What one call to [`Decoder::decode_in_place`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Stream bytes now at the start of the buffer.
    pub(crate) produced: usize,
    /// Raw bytes taken; the caller keeps the rest for the next call.
    pub(crate) consumed: usize,
    /// A control frame that stopped decoding, to act on before the next
    /// call.
    pub(crate) control: Option<Control>,
}

/// Where the decoder is within the client's frames.
#[derive(Debug, Clone)]
enum State {
    /// Reading a frame header; `len` bytes of it are in `bytes`.
    Header {
        bytes: [u8; MAX_HEADER_LEN],
        len: usize,
    },
    /// Reading a payload.
    Payload {
        opcode: u8,
        remaining: u64,
        mask: [u8; 4],
        /// Payload bytes already unmasked (the mask's phase).
        offset: usize,
    },
}

/// Decodes the frames a WebSocket client sends.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    state: State,
    /// A binary message is open (its last frame has not come yet).
    in_message: bool,
    /// The payload of the control frame being read.
    control: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            state: State::Header {
                bytes: [0; MAX_HEADER_LEN],
                len: 0,
            },
            in_message: false,
            control: Vec::new(),
        }
    }
}

/// The full length of a header whose second byte is `b1`.
fn header_len(b1: u8) -> usize {
    let length_bytes = match b1 & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask_bytes = if b1 & 0x80 != 0 { 4 } else { 0 };
    2 + length_bytes + mask_bytes
}

impl Decoder {
    /// Decodes the raw bytes in `buf` in place: the stream bytes they carry
    /// are written from the start of `buf`, and decoding stops early at a
    /// control frame the caller must act on. Bytes past `consumed` are
    /// untouched, so a caller may keep them for later.
    pub(crate) fn decode_in_place(&mut self, buf: &mut [u8]) -> Result<Decoded, FrameError> {
        let mut read = 0;
        let mut written = 0;
        while read < buf.len() {
            match &mut self.state {
                State::Header { bytes, len } => {
                    let Some(&byte) = buf.get(read) else {
                        break;
                    };
                    if let Some(slot) = bytes.get_mut(*len) {
                        *slot = byte;
                    }
                    *len += 1;
                    read += 1;
                    let (b0, b1) = (bytes[0], bytes.get(1).copied().unwrap_or(0));
                    if *len >= 2 && *len == header_len(b1) {
                        let header = *bytes;
                        let control = self.start_frame(b0, b1, &header)?;
                        if control.is_some() {
                            return Ok(Decoded {
                                produced: written,
                                consumed: read,
                                control,
                            });
                        }
                    }
                }
                State::Payload {
                    opcode,
                    remaining,
                    mask,
                    offset,
                } => {
                    let available = buf.len() - read;
                    let take = usize::try_from(*remaining).map_or(available, |r| r.min(available));
                    let (opcode, mask, phase) = (*opcode, *mask, *offset);
                    *remaining -= take as u64;
                    *offset += take;
                    let done = *remaining == 0;
                    if opcode == OP_BINARY || opcode == OP_CONTINUATION {
                        buf.copy_within(read..read + take, written);
                        unmask(&mut buf[written..written + take], mask, phase);
                        written += take;
                    } else {
                        let start = self.control.len();
                        self.control.extend_from_slice(&buf[read..read + take]);
                        unmask(&mut self.control[start..], mask, phase);
                    }
                    read += take;
                    if done {
                        let control = self.end_frame(opcode);
                        if control.is_some() {
                            return Ok(Decoded {
                                produced: written,
                                consumed: read,
                                control,
                            });
                        }
                    }
                }
            }
        }
        Ok(Decoded {
            produced: written,
            consumed: read,
            control: None,
        })
    }

    /// Checks a complete header and moves on to its payload; a control
    /// frame with no payload is acted on at once.
    fn start_frame(
        &mut self,
        b0: u8,
        b1: u8,
        header: &[u8; MAX_HEADER_LEN],
    ) -> Result<Option<Control>, FrameError> {
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        if b0 & 0x70 != 0 {
            return Err(FrameError::ReservedBits);
        }
        if b1 & 0x80 == 0 {
            return Err(FrameError::Unmasked);
        }
        let (length, mask_at) = match b1 & 0x7F {
            126 => (u64::from(u16::from_be_bytes([header[2], header[3]])), 4),
            127 => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&header[2..10]);
                (u64::from_be_bytes(bytes), 10)
            }
            short => (u64::from(short), 2),
        };
        if length >> 63 != 0 {
            return Err(FrameError::BadLength);
        }
        match opcode {
            OP_TEXT => return Err(FrameError::Text),
            OP_BINARY if self.in_message => return Err(FrameError::BadFragmentation),
            OP_CONTINUATION if !self.in_message => return Err(FrameError::BadFragmentation),
            OP_BINARY | OP_CONTINUATION => self.in_message = !fin,
            OP_CLOSE | OP_PING | OP_PONG => {
                if !fin || length > MAX_CONTROL_LEN as u64 {
                    return Err(FrameError::BadControlFrame);
                }
                self.control.clear();
            }
            other => return Err(FrameError::UnknownOpcode(other)),
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&header[mask_at..mask_at + 4]);
        self.state = State::Payload {
            opcode,
            remaining: length,
            mask,
            offset: 0,
        };
        if length == 0 {
            return Ok(self.end_frame(opcode));
        }
        Ok(None)
    }

    /// Finishes a frame whose payload has all arrived.
    fn end_frame(&mut self, opcode: u8) -> Option<Control> {
        self.state = State::Header {
            bytes: [0; MAX_HEADER_LEN],
            len: 0,
        };
        match opcode {
            OP_PING => Some(Control::Ping(std::mem::take(&mut self.control))),
            OP_CLOSE => Some(Control::Close),
            _ => None,
        }
    }
}

/// XORs `bytes` with `mask`, starting `phase` bytes into it.
fn unmask(bytes: &mut [u8], mask: [u8; 4], phase: usize) {
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte ^= mask[(phase + i) % 4];
    }
}

/// The header of an unmasked frame from the server, final, of `opcode`
/// with a `len`-byte payload; returns the buffer and how much of it is the
/// header.
fn server_header(opcode: u8, len: usize) -> ([u8; 10], usize) {
    let mut header = [0u8; 10];
    header[0] = 0x80 | opcode;
    let used = if len < 126 {
        header[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        header[1] = 126;
        header[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        header[1] = 127;
        header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (header, used)
}

/// A close frame with no status, as the server sends it.
pub(crate) const CLOSE_FRAME: [u8; 2] = [0x80 | OP_CLOSE, 0];

/// The header of a binary frame carrying `len` stream bytes.
pub(crate) fn binary_header(len: usize) -> ([u8; 10], usize) {
    server_header(OP_BINARY, len)
}

/// A whole binary frame carrying `payload`.
pub(crate) fn binary_frame(payload: &[u8]) -> Vec<u8> {
    control_or_data(OP_BINARY, payload)
}

/// A whole pong frame answering a ping with `payload`.
pub(crate) fn pong_frame(payload: &[u8]) -> Vec<u8> {
    control_or_data(OP_PONG, payload)
}

fn control_or_data(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let (header, used) = server_header(opcode, payload.len());
    let mut frame = Vec::with_capacity(used + payload.len());
    frame.extend_from_slice(&header[..used]);
    frame.extend_from_slice(payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame as a client sends it: masked with `mask`.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            len if len < 126 => frame.push(0x80 | len as u8),
            len if len <= 0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        unmask(&mut body, mask, 0);
        frame.extend_from_slice(&body);
        frame
    }

    /// Decodes `raw` fed in pieces of `step` bytes, as reads would bring
    /// it; returns the stream bytes and the control frames seen.
    fn decode_in_steps(raw: &[u8], step: usize) -> Result<(Vec<u8>, Vec<Control>), FrameError> {
        let mut decoder = Decoder::default();
        let mut stream = Vec::new();
        let mut controls = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for piece in raw.chunks(step) {
            pending.extend_from_slice(piece);
            loop {
                let decoded = decoder.decode_in_place(&mut pending)?;
                stream.extend_from_slice(&pending[..decoded.produced]);
                pending.drain(..decoded.consumed);
                match decoded.control {
                    Some(control) => controls.push(control),
                    None => break,
                }
            }
        }
        Ok((stream, controls))
    }

    #[test]
    fn binary_frames_of_every_length_form_kind_decode_to_the_stream() {
        let payloads: Vec<Vec<u8>> = [0usize, 1, 125, 126, 300, 65_535, 65_536, 70_000]
            .iter()
            .map(|&len| (0..len).map(|i| (i * 7 + len) as u8).collect())
            .collect();
        let mut raw = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            raw.extend(client_frame(
                true,
                OP_BINARY,
                payload,
                [i as u8, 0x5A, 0xC3, 0x11],
            ));
        }
        let expected = payloads.concat();
        for step in [1, 3, 7, 1000, raw.len()] {
            let (stream, controls) = decode_in_steps(&raw, step).expect("valid frames");
            assert_eq!(stream, expected, "step {step}");
            assert!(controls.is_empty());
        }
    }

    #[test]
    fn fragmented_messages_and_interleaved_pings() {
        let mut raw = client_frame(false, OP_BINARY, b"hel", [1, 2, 3, 4]);
        raw.extend(client_frame(true, OP_PING, b"are you there", [9, 9, 9, 9]));
        raw.extend(client_frame(true, OP_CONTINUATION, b"lo", [5, 6, 7, 8]));
        raw.extend(client_frame(true, OP_PONG, b"", [0, 0, 0, 1]));
        raw.extend(client_frame(true, OP_CLOSE, &[3, 232], [4, 4, 4, 4]));
        for step in [1, 5, raw.len()] {
            let (stream, controls) = decode_in_steps(&raw, step).expect("valid");
            assert_eq!(stream, b"hello");
            assert_eq!(
                controls,
                vec![Control::Ping(b"are you there".to_vec()), Control::Close]
            );
        }
    }

    #[test]
    fn refuses_what_a_client_may_not_send() {
        let unmasked = {
            let mut frame = client_frame(true, OP_BINARY, b"x", [0; 4]);
            frame[1] &= 0x7F;
            frame.drain(2..6);
            frame
        };
        let reserved = {
            let mut frame = client_frame(true, OP_BINARY, b"x", [1; 4]);
            frame[0] |= 0x40;
            frame
        };
        let cases = [
            (unmasked, FrameError::Unmasked),
            (reserved, FrameError::ReservedBits),
            (client_frame(true, OP_TEXT, b"hi", [1; 4]), FrameError::Text),
            (
                client_frame(true, 0x3, b"", [1; 4]),
                FrameError::UnknownOpcode(3),
            ),
            (
                client_frame(false, OP_PING, b"", [1; 4]),
                FrameError::BadControlFrame,
            ),
            (
                client_frame(true, OP_PING, &[0; 126], [1; 4]),
                FrameError::BadControlFrame,
            ),
            (
                client_frame(true, OP_CONTINUATION, b"x", [1; 4]),
                FrameError::BadFragmentation,
            ),
            (
                [
                    client_frame(false, OP_BINARY, b"x", [1; 4]),
                    client_frame(true, OP_BINARY, b"y", [1; 4]),
                ]
                .concat(),
                FrameError::BadFragmentation,
            ),
            (
                vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4],
                FrameError::BadLength,
            ),
        ];
        for (raw, error) in cases {
            assert_eq!(decode_in_steps(&raw, 1).map(|_| ()), Err(error), "{raw:x?}");
        }
    }

    #[test]
    fn stops_at_a_control_frame_and_leaves_the_rest() {
        let mut raw = client_frame(true, OP_BINARY, b"ab", [1, 2, 3, 4]);
        raw.extend(client_frame(true, OP_PING, b"p", [1, 1, 1, 1]));
        let tail = client_frame(true, OP_BINARY, b"cd", [2, 2, 2, 2]);
        raw.extend(&tail);
        let mut decoder = Decoder::default();
        let decoded = decoder.decode_in_place(&mut raw).expect("valid");
        assert_eq!(decoded.produced, 2);
        assert_eq!(&raw[..2], b"ab");
        assert_eq!(decoded.control, Some(Control::Ping(b"p".to_vec())));
        assert_eq!(&raw[decoded.consumed..], &tail[..]);
    }

    proptest::proptest! {
        /// Any bytes, fed in any pieces: decoding never panics, never
        /// produces more than it took, and ends at an error or having
        /// taken everything.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            step in 1usize..64,
        ) {
            let mut decoder = Decoder::default();
            let mut pending: Vec<u8> = Vec::new();
            'feed: for piece in raw.chunks(step) {
                pending.extend_from_slice(piece);
                loop {
                    let before = pending.len();
                    let Ok(decoded) = decoder.decode_in_place(&mut pending) else {
                        break 'feed;
                    };
                    proptest::prop_assert!(decoded.produced <= decoded.consumed);
                    proptest::prop_assert!(decoded.consumed <= before);
                    pending.drain(..decoded.consumed);
                    if decoded.control.is_none() {
                        proptest::prop_assert!(pending.is_empty());
                        break;
                    }
                }
            }
        }

        /// Valid frames of random sizes, split anywhere, decode to exactly
        /// the payloads they carry.
        #[test]
        fn valid_frames_round_trip_however_split(
            payloads in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u8::ANY, 0..300), 1..8),
            mask in proptest::array::uniform4(proptest::num::u8::ANY),
            step in 1usize..97,
        ) {
            let raw: Vec<u8> = payloads
                .iter()
                .flat_map(|p| client_frame(true, OP_BINARY, p, mask))
                .collect();
            let (stream, controls) = decode_in_steps(&raw, step).expect("valid frames");
            proptest::prop_assert_eq!(stream, payloads.concat());
            proptest::prop_assert!(controls.is_empty());
        }
    }

    #[test]
    fn server_frames_have_minimal_headers() {
        assert_eq!(binary_header(5).1, 2);
        assert_eq!(binary_header(126).1, 4);
        assert_eq!(binary_header(70_000).1, 10);
        let frame = binary_frame(b"hey");
        assert_eq!(frame, [0x82, 3, b'h', b'e', b'y']);
        assert_eq!(pong_frame(b"").as_slice(), [0x8A, 0]);
        let (header, used) = binary_header(300);
        assert_eq!(&header[..used], [0x82, 126, 1, 44]);
    }
}
