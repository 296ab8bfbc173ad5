//! The Pinecone wire format, protocol version 1.
//!
//! Every parser here is total: it takes arbitrary bytes and returns either a
//! view whose accessors cannot fail, or a typed error naming what is wrong.
//! Views borrow the buffer they were checked against (no copies); the
//! matching `*Repr` structs hold decoded fields for building frames, and their
//! `emit` methods write into a caller's buffer, refusing anything that would
//! not fit rather than truncating it.
//!
//! Layout of the module:
//!
//! * [`varu64`], [`Coords`], [`PublicKey`], [`Watermark`]: primitives.
//! * [`Header`], [`Frame`]: the 10-byte frame header and the dispatch to a
//!   view per frame type ([`TrafficFrame`], [`BootstrapFrame`],
//!   [`BroadcastFrame`], [`AnnouncementFrame`]).
//! * [`Announcement`]: the signed spanning-tree announcement payload.
//! * [`RootPayload`]: the signed payload of bootstraps and wakeup broadcasts.
//! * [`Handshake`]: the 104-byte greeting that opens every peering.
//! * [`Deframer`]: splits a byte stream into whole frames.

// Parsing must never panic on input bytes: enforce it mechanically.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable
    )
)]

mod announcement;
mod bootstrap;
mod broadcast;
mod coords;
mod cursor;
mod deframer;
mod error;
mod frame;
mod handshake;
mod header;
mod key;
mod root_payload;
mod traffic;
pub mod varu64;
mod watermark;

pub use announcement::{
    Announcement, AnnouncementFrame, AnnouncementFrameRepr, AnnouncementRepr, EntryIter,
    SignatureEntry, SignatureEntryRepr,
};
pub use bootstrap::{BootstrapFrame, BootstrapRepr};
pub use broadcast::{BroadcastFrame, BroadcastRepr};
pub use coords::{tree_distance, Coords, CoordsIter, CoordsView};
pub use deframer::{frame_length, Deframer};
pub use error::{AnnouncementError, EncodeError, Field, HandshakeError, ParseError};
pub use frame::{emit_keepalive, Frame};
pub use handshake::{Handshake, CAPABILITIES, HANDSHAKE_LEN, PROTOCOL_VERSION};
pub use header::{FrameType, Header, FRAME_VERSION, HEADER_LEN, MAGIC, MAX_FRAME_LEN};
pub use key::{signature_verifies, PublicKey, SIGNATURE_LEN};
pub use root_payload::{RootPayload, RootPayloadRepr, ROOT_PAYLOAD_MIN_LEN};
pub use traffic::{TrafficFrame, TrafficRepr, DEFAULT_HOP_LIMIT};
pub use watermark::Watermark;
