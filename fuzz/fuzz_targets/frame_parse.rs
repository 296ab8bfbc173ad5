//! `Frame::parse` on arbitrary bytes.
//!
//! Parsing never panics. An accepted frame is self-consistent: the header
//! length is the input length, the header fields are the input's bytes 4..10,
//! every accessor of the typed view answers, the fixed-position fields are the
//! input's bytes, and the view re-measures to the input length. A refusal
//! names an error that the input really has.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pinecone_engine::wire::{
    frame_length, tree_distance, varu64, Announcement, AnnouncementFrame, BootstrapFrame,
    BroadcastFrame, Coords, Field, Frame, FrameType, Header, ParseError, RootPayload, TrafficFrame,
    Watermark, HEADER_LEN, MAGIC, SIGNATURE_LEN,
};

fuzz_target!(|data: &[u8]| {
    match Frame::parse(data) {
        Ok(frame) => check_accepted(&frame, data),
        Err(error) => check_refused(error, data),
    }
});

fn check_accepted(frame: &Frame<'_>, data: &[u8]) {
    let header = frame.header();
    assert_eq!(usize::from(header.length), data.len());
    assert_eq!(Header::parse(data), Ok(header));
    assert_eq!(frame_length(data), Ok(Some(data.len())));
    assert_eq!(data[..4], MAGIC);
    assert_eq!(
        [
            header.version,
            header.frame_type,
            header.extra,
            header.hop_limit
        ],
        data[4..8]
    );
    assert!(!format!("{frame:?}").is_empty());
    match frame {
        Frame::Keepalive(_) => {
            assert_eq!(header.known_type(), Some(FrameType::Keepalive));
            assert_eq!(data.len(), HEADER_LEN);
        }
        Frame::Unknown(_) => assert_eq!(header.known_type(), None),
        Frame::TreeAnnouncement(f) => check_announcement_frame(f, data),
        Frame::Bootstrap(f) => check_bootstrap(f, data),
        Frame::Traffic(f) => check_traffic(f, data),
        Frame::WakeupBroadcast(f) => check_broadcast(f, data),
    }
}

/// The u16 payload length right after the header.
fn declared_payload_len(data: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([data[HEADER_LEN], data[HEADER_LEN + 1]]))
}

/// The 32 bytes at `offset`.
fn key_at(data: &[u8], offset: usize) -> &[u8] {
    &data[offset..offset + 32]
}

fn check_announcement_frame(f: &AnnouncementFrame<'_>, data: &[u8]) {
    assert_eq!(f.header().known_type(), Some(FrameType::TreeAnnouncement));
    let payload = f.payload();
    assert_eq!(payload.len(), declared_payload_len(data));
    assert_eq!(AnnouncementFrame::encoded_len(payload.len()), data.len());
    assert!(data.ends_with(payload));
    if let Ok(announcement) = Announcement::parse(payload) {
        assert_eq!(announcement.as_bytes(), payload);
        assert_eq!(announcement.entries().count(), announcement.len());
        assert_eq!(announcement.coords().ports().len(), announcement.len());
    }
}

fn check_bootstrap(f: &BootstrapFrame<'_>, data: &[u8]) {
    assert_eq!(f.header().known_type(), Some(FrameType::Bootstrap));
    assert_eq!(f.dest_key().as_bytes(), key_at(data, HEADER_LEN + 2));
    assert_eq!(f.watermark().key.as_bytes(), key_at(data, HEADER_LEN + 34));
    let payload = f.payload();
    assert_eq!(payload.len(), declared_payload_len(data));
    assert!(data.ends_with(payload));
    let repr = f.to_repr();
    assert_eq!(repr.hop_limit, f.header().hop_limit);
    assert_eq!(repr.dest_key, f.dest_key());
    assert_eq!(repr.watermark, f.watermark());
    assert_eq!(repr.encoded_len(), data.len());
    check_root_payload(payload);
}

fn check_broadcast(f: &BroadcastFrame<'_>, data: &[u8]) {
    assert_eq!(f.header().known_type(), Some(FrameType::WakeupBroadcast));
    assert_eq!(f.hop_limit(), f.header().hop_limit);
    assert_eq!(f.source_key().as_bytes(), key_at(data, HEADER_LEN + 2));
    let payload = f.payload();
    assert_eq!(payload.len(), declared_payload_len(data));
    assert!(data.ends_with(payload));
    let repr = f.to_repr();
    assert_eq!(repr.hop_limit, f.hop_limit());
    assert_eq!(repr.source_key, f.source_key());
    assert_eq!(repr.encoded_len(), data.len());
    check_root_payload(payload);
}

fn check_traffic(f: &TrafficFrame<'_>, data: &[u8]) {
    assert_eq!(f.header().known_type(), Some(FrameType::Traffic));
    assert_eq!(f.hop_limit(), f.header().hop_limit);
    let dest = f.dest_coords();
    let src = f.src_coords();
    for view in [dest, src] {
        let owned = view.to_coords();
        assert_eq!(view.iter().count(), view.len());
        assert_eq!(owned.ports().len(), view.len());
        assert_eq!(view.is_empty(), owned.is_root());
        assert!(view.eq_ports(owned.ports()));
        assert_eq!(owned.encoded_len(), 2 + view.body().len());
        assert_eq!(Coords::parse(&coords_bytes(view.body())), Ok(owned));
    }
    let distance = tree_distance(dest.iter(), src.iter());
    assert!(distance <= dest.len() + src.len());
    assert_eq!(distance, dest.to_coords().distance(src.to_coords().ports()));
    assert_eq!(f.wire_watermark().is_some(), dest.is_empty());
    assert_eq!(
        f.watermark(),
        f.wire_watermark().unwrap_or(Watermark::FRESH)
    );
    let payload = f.payload();
    assert_eq!(payload.len(), declared_payload_len(data));
    assert!(data.ends_with(payload));
    let repr = f.to_repr();
    assert_eq!(repr.hop_limit, f.hop_limit());
    assert_eq!((repr.dest_key, repr.src_key), (f.dest_key(), f.src_key()));
    assert_eq!(repr.watermark, f.watermark());
    assert_eq!(repr.encoded_len(), data.len());
}

/// `body` with its u16 byte-length prefix.
fn coords_bytes(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len()).expect("a coordinate body inside a frame fits a u16");
    let mut bytes = len.to_be_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// A bootstrap or broadcast payload: when it parses, the signed part and the
/// signature tile it exactly.
fn check_root_payload(payload: &[u8]) {
    if let Ok(root_payload) = RootPayload::parse(payload) {
        let protected = root_payload.protected();
        assert_eq!(protected.len() + SIGNATURE_LEN, payload.len());
        assert!(payload.starts_with(protected));
        assert!(payload.ends_with(root_payload.signature()));
        let root_at = varu64::encoded_len(root_payload.sequence());
        assert_eq!(root_payload.root().as_bytes(), key_at(protected, root_at));
    }
}

fn check_refused(error: ParseError, data: &[u8]) {
    assert!(!error.to_string().is_empty());
    let header = Header::parse(data);
    match error {
        ParseError::Truncated(Field::Header) => assert!(data.len() < HEADER_LEN),
        ParseError::BadMagic(magic) => {
            assert_ne!(magic, MAGIC);
            assert_eq!(magic, data[..4]);
        }
        ParseError::LengthBelowHeader(length) => {
            assert!(usize::from(length) < HEADER_LEN);
            assert_eq!(header, Err(error));
        }
        ParseError::LengthMismatch { declared, actual } => {
            assert_eq!(actual, data.len());
            assert_ne!(declared, actual);
            assert_eq!(header.map(|h| usize::from(h.length)), Ok(declared));
        }
        ParseError::TrailingBytes(n) => {
            assert!(n > 0 && n < data.len());
            assert!(header.is_ok_and(|h| h.known_type().is_some()));
        }
        // Every other error is in the body of a frame of a known type whose
        // header is sound.
        _ => {
            let header = header.expect("a body error follows a sound header");
            assert_eq!(usize::from(header.length), data.len());
            assert!(header.known_type().is_some());
        }
    }
    if data.len() >= HEADER_LEN {
        assert_eq!(frame_length(data).map(|_| ()), header.map(|_| ()));
    }
}
