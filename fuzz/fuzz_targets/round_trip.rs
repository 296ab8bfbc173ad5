//! Whatever `Frame::parse` accepts re-encodes to the identical bytes.
//!
//! Every frame is rebuilt from its decoded fields with the matching
//! `*Repr::emit` (a keepalive, a header alone, with `Header::emit`). The
//! senders' shorthands `emit_keepalive` and `AnnouncementFrame::emit`, which
//! always write hop limit 0 (what every node sends on these peer-to-peer
//! frames), agree with the input up to that byte. Every encoder also refuses
//! a buffer one byte short.
//!
//! Bootstrap and broadcast payloads are re-signed with a key of our own,
//! since a foreign signature cannot be reproduced: the re-encoded payload
//! must parse to the same fields with the same signed bytes.

#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use pinecone_engine::wire::{
    emit_keepalive, Announcement, AnnouncementFrame, EncodeError, Frame, RootPayload,
};

/// Byte offset of the hop limit in the frame header.
const HOP_LIMIT_AT: usize = 7;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::parse(data) else {
        return;
    };
    match frame {
        Frame::Keepalive(header) => {
            assert_eq!(encode(data.len(), |out| header.emit(out)), data);
            assert_eq!(
                encode(data.len(), emit_keepalive),
                with_hop_limit_zero(data)
            );
        }
        Frame::TreeAnnouncement(f) => {
            let payload = f.payload();
            assert_eq!(encode(data.len(), |out| f.to_repr().emit(out)), data);
            let emitted = encode(data.len(), |out| AnnouncementFrame::emit(payload, out));
            assert_eq!(emitted, with_hop_limit_zero(data));
            if let Ok(announcement) = Announcement::parse(payload) {
                let repr = announcement.to_repr();
                assert_eq!(encode(payload.len(), |out| repr.emit(out)), payload);
            }
        }
        Frame::Bootstrap(f) => {
            let repr = f.to_repr();
            assert_eq!(repr.encoded_len(), data.len());
            assert_eq!(encode(data.len(), |out| repr.emit(out)), data);
            check_root_payload(f.payload());
        }
        Frame::Traffic(f) => {
            let repr = f.to_repr();
            assert_eq!(repr.encoded_len(), data.len());
            assert_eq!(encode(data.len(), |out| repr.emit(out)), data);
        }
        Frame::WakeupBroadcast(f) => {
            let repr = f.to_repr();
            assert_eq!(repr.encoded_len(), data.len());
            assert_eq!(encode(data.len(), |out| repr.emit(out)), data);
            check_root_payload(f.payload());
        }
        // No encoder writes unknown frames: a node only drops them.
        Frame::Unknown(header) => assert_eq!(header.known_type(), None),
    }
});

/// Runs an encoder that should write exactly `len` bytes: it must refuse a
/// buffer one byte short, then fill one of exactly `len` bytes.
fn encode(len: usize, mut emit: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let short = len - 1;
    assert_eq!(
        emit(&mut out[..short]),
        Err(EncodeError::BufferTooSmall {
            needed: len,
            available: short
        })
    );
    assert_eq!(emit(&mut out), Ok(len));
    out
}

fn with_hop_limit_zero(data: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    bytes[HOP_LIMIT_AT] = 0;
    bytes
}

/// A bootstrap or broadcast payload that parses, re-signed by our key,
/// parses back to the same fields and signed bytes.
fn check_root_payload(payload: &[u8]) {
    let Ok(parsed) = RootPayload::parse(payload) else {
        return;
    };
    let repr = parsed.to_repr();
    assert_eq!(repr.encoded_len(), payload.len());
    let emitted = encode(payload.len(), |out| repr.emit_signed(signer(), out));
    let reparsed = RootPayload::parse(&emitted).expect("an emitted payload parses");
    assert_eq!(reparsed.to_repr(), repr);
    assert_eq!(reparsed.protected(), parsed.protected());
    assert_eq!(
        (reparsed.sequence(), reparsed.root(), reparsed.root_seq()),
        (parsed.sequence(), parsed.root(), parsed.root_seq())
    );
}

/// The key payloads are re-signed with, made once.
fn signer() -> &'static SigningKey {
    static SIGNER: OnceLock<SigningKey> = OnceLock::new();
    SIGNER.get_or_init(|| SigningKey::from_bytes(&[0x42; 32]))
}
