//! Typed errors for parsing, encoding and verifying wire data.

use thiserror::Error;

/// A field of a frame or payload, named in errors so that a log line says
/// exactly which part of the input was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The 10-byte frame header.
    Header,
    /// The u16 payload length that follows the header.
    PayloadLength,
    /// Destination coordinates of a traffic frame.
    DestinationCoords,
    /// Source coordinates of a traffic frame.
    SourceCoords,
    /// A destination public key.
    DestinationKey,
    /// A source public key.
    SourceKey,
    /// The key half of a watermark.
    WatermarkKey,
    /// The sequence half of a watermark.
    WatermarkSequence,
    /// A frame's payload bytes.
    Payload,
    /// The root key of an announcement or signed payload.
    RootKey,
    /// The root sequence of an announcement or signed payload.
    RootSequence,
    /// The sequence number of a bootstrap or broadcast payload.
    Sequence,
    /// The hop (port number) of an announcement signature entry.
    Hop,
    /// The signer key of an announcement signature entry.
    SignerKey,
    /// An ed25519 signature.
    Signature,
    /// The 104-byte peering handshake.
    Handshake,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Field::Header => "frame header",
            Field::PayloadLength => "payload length",
            Field::DestinationCoords => "destination coordinates",
            Field::SourceCoords => "source coordinates",
            Field::DestinationKey => "destination key",
            Field::SourceKey => "source key",
            Field::WatermarkKey => "watermark key",
            Field::WatermarkSequence => "watermark sequence",
            Field::Payload => "payload",
            Field::RootKey => "root key",
            Field::RootSequence => "root sequence",
            Field::Sequence => "sequence",
            Field::Hop => "signature hop",
            Field::SignerKey => "signer key",
            Field::Signature => "signature",
            Field::Handshake => "handshake",
        };
        f.write_str(name)
    }
}

/// Why bytes could not be read as a frame or payload.
///
/// Any of these on a peering's stream means the stream is broken: the peer
/// that sent it is disconnected (and only that peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The input ended in the middle of a field.
    #[error("truncated {0}")]
    Truncated(Field),
    /// The frame does not start with the magic bytes `pine`.
    #[error("bad frame magic {0:02x?}, expected \"pine\"")]
    BadMagic([u8; 4]),
    /// The header's length is below the 10-byte header itself.
    #[error("frame length {0} is shorter than the 10-byte header")]
    LengthBelowHeader(u16),
    /// The header's length disagrees with the number of bytes given.
    #[error("frame header says {declared} bytes but {actual} were given")]
    LengthMismatch {
        /// Length written in the header.
        declared: usize,
        /// Bytes actually given to the parser.
        actual: usize,
    },
    /// Bytes remain after the last field the frame type defines.
    #[error("{0} unexpected bytes after the last field")]
    TrailingBytes(usize),
    /// A varu64 with a redundant leading `0x80` byte.
    #[error("non-canonical varu64 in {0}")]
    NonCanonicalVarint(Field),
    /// A varu64 whose value does not fit in 64 bits.
    #[error("varu64 overflows 64 bits in {0}")]
    VarintOverflow(Field),
    /// A coordinate's varu64 runs past the coordinates' byte length.
    #[error("{0} overrun their declared byte length")]
    CoordsOverrun(Field),
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The caller's buffer is too small; `needed` bytes would fit.
    #[error("output buffer holds {available} bytes but {needed} are needed")]
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
        /// Bytes the caller's buffer has.
        available: usize,
    },
    /// The encoding would exceed a 16-bit length field.
    #[error("{field} would be {len} bytes, more than a 16-bit length allows")]
    TooLarge {
        /// Which length overflowed.
        field: Field,
        /// The length it would have had.
        len: usize,
    },
}

/// Why a tree announcement was refused. Any of these disconnects the peer
/// that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AnnouncementError {
    /// The payload is malformed.
    #[error("malformed announcement: {0}")]
    Malformed(#[from] ParseError),
    /// The signature of entry `index` does not verify.
    #[error("signature verification failed for entry {index} (hop {hop})")]
    BadSignature {
        /// Zero-based index of the failing entry.
        index: usize,
        /// The hop of that entry.
        hop: u64,
    },
    /// The announcement has no signature entries.
    #[error("announcement has no signatures")]
    NoSignatures,
    /// The first signer is not the root key.
    #[error("first signature doesn't match the root key")]
    FirstSignerNotRoot,
    /// An entry carries hop 0, which is the local router and never a hop.
    #[error("announcement contains an invalid 0 hop")]
    ZeroHop,
    /// The last signer is not the peer the announcement came from.
    #[error("last signature is not from the direct peer")]
    LastSignerNotPeer,
    /// A signer appears twice: a routing loop.
    #[error("announcement contains a routing loop")]
    RoutingLoop,
    /// More signature entries than the receiver accepts (a tree that deep
    /// is not real; checking it would cost a signature check per entry).
    #[error("announcement has {entries} signature entries, more than the {limit} accepted")]
    TooManyEntries {
        /// Entries it carries.
        entries: usize,
        /// The most the receiver accepts.
        limit: usize,
    },
}

/// Why a peering handshake was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HandshakeError {
    /// Not exactly 104 bytes.
    #[error("handshake must be {expected} bytes, got {actual}")]
    WrongLength {
        /// The handshake length, 104.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The peer speaks another protocol version.
    #[error("mismatched node version: ours {ours}, theirs {theirs}")]
    VersionMismatch {
        /// Our version.
        ours: u8,
        /// The peer's version.
        theirs: u8,
    },
    /// The peer has other capabilities.
    #[error("mismatched node capabilities: ours {ours:#x}, theirs {theirs:#x}")]
    CapabilityMismatch {
        /// Our capabilities.
        ours: u32,
        /// The peer's capabilities.
        theirs: u32,
    },
    /// The signature does not verify under the presented key.
    #[error("peer sent an invalid handshake signature")]
    BadSignature,
    /// The peer presented our own public key.
    #[error("peer presented our own public key")]
    OwnKey,
}
