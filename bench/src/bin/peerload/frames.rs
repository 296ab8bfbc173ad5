//! The frames the tool writes, built with the engine's encoders, and the one
//! fact it reads from the daemon's frames: the root it follows.

use pinecone_engine::wire::{
    emit_keepalive, Announcement, BootstrapRepr, Frame, PublicKey, RootPayloadRepr, Watermark,
    HEADER_LEN, SIGNATURE_LEN,
};
use rand_core::{OsRng, RngCore};

/// The tree root a node follows: what a bootstrap's payload must name for
/// the node to check its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Root {
    /// The root's key.
    pub key: PublicKey,
    /// The root's sequence.
    pub seq: u64,
}

/// A keepalive frame.
pub fn keepalive() -> [u8; HEADER_LEN] {
    let mut frame = [0u8; HEADER_LEN];
    // Ten bytes always fit a ten-byte buffer.
    let _ = emit_keepalive(&mut frame);
    frame
}

/// The root named by `frame`, when it is a well-formed tree announcement.
pub fn announced_root(frame: &Frame<'_>) -> Option<Root> {
    let Frame::TreeAnnouncement(announcement) = frame else {
        return None;
    };
    let parsed = Announcement::parse(announcement.payload()).ok()?;
    Some(Root {
        key: parsed.root(),
        seq: parsed.root_seq(),
    })
}

/// `count` bootstrap frames from `sender`, back to back, each naming
/// `root` and carrying a random signature that does not verify.
///
/// Each signature's scalar half is reduced below 2^252, so it is canonical
/// and the receiver cannot refuse it on sight: it must run the whole
/// ed25519 check to find it bad. The frames differ only in their
/// signatures; they carry the fresh watermark and sequence `sequence`.
pub fn bad_bootstraps(sender: PublicKey, root: Root, sequence: u64, count: usize) -> Vec<u8> {
    let signed = RootPayloadRepr {
        sequence,
        root: root.key,
        root_seq: root.seq,
    };
    let payload_len = signed.encoded_len();
    let protected_len = payload_len - SIGNATURE_LEN;
    let mut payload = vec![0u8; payload_len];
    let frame_len = BootstrapRepr {
        hop_limit: 0,
        dest_key: sender,
        watermark: Watermark::FRESH,
        payload: &payload,
    }
    .encoded_len();
    let mut frames = vec![0u8; frame_len * count];
    let mut signatures = vec![0u8; SIGNATURE_LEN * count];
    OsRng.fill_bytes(&mut signatures);
    write_protected(&signed, &mut payload);
    for (frame, signature) in frames
        .chunks_exact_mut(frame_len)
        .zip(signatures.chunks_exact(SIGNATURE_LEN))
    {
        let (_, tail) = payload.split_at_mut(protected_len);
        tail.copy_from_slice(signature);
        // The scalar S is the last 32 bytes, little-endian: clearing the top
        // four bits of its last byte makes it smaller than the group order.
        if let Some(last) = tail.last_mut() {
            *last &= 0x0f;
        }
        let repr = BootstrapRepr {
            hop_limit: 0,
            dest_key: sender,
            watermark: Watermark::FRESH,
            payload: &payload,
        };
        // `frame` has exactly the length `repr` encodes to.
        let _ = repr.emit(frame);
    }
    frames
}

/// Writes the signed fields of `signed` (sequence, root key, root sequence)
/// at the start of `payload`, by signing with a throwaway key: the
/// signature it leaves behind is overwritten by the caller.
fn write_protected(signed: &RootPayloadRepr, payload: &mut [u8]) {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let throwaway = ed25519_dalek::SigningKey::from_bytes(&seed);
    let _ = signed.emit_signed(&throwaway, payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use pinecone_engine::wire::{AnnouncementFrame, AnnouncementRepr, Deframer, RootPayload};

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn keepalive_parses_as_a_keepalive() {
        let frame = keepalive();
        assert!(matches!(Frame::parse(&frame), Ok(Frame::Keepalive(_))));
    }

    #[test]
    fn bad_bootstraps_parse_name_the_root_and_fail_the_signature_check() {
        let sender = PublicKey::of(&key(1));
        let root = Root {
            key: PublicKey::of(&key(2)),
            seq: 7,
        };
        let stream = bad_bootstraps(sender, root, 1_700_000_000_000, 5);
        let mut deframer = Deframer::new();
        deframer.push(&stream);
        let mut signatures = Vec::new();
        while let Some(bytes) = deframer.next_frame().expect("whole frames") {
            let Ok(Frame::Bootstrap(bootstrap)) = Frame::parse(bytes) else {
                panic!("not a bootstrap");
            };
            assert_eq!(bootstrap.dest_key(), sender);
            assert_eq!(bootstrap.watermark(), Watermark::FRESH);
            let payload = RootPayload::parse(bootstrap.payload()).expect("payload parses");
            assert_eq!(payload.root(), root.key);
            assert_eq!(payload.root_seq(), 7);
            assert_eq!(payload.sequence(), 1_700_000_000_000);
            assert!(!payload.verify(&sender));
            assert_eq!(payload.signature()[63] & 0xf0, 0, "canonical scalar");
            signatures.push(*payload.signature());
        }
        assert_eq!(deframer.buffered(), 0);
        assert_eq!(signatures.len(), 5);
        signatures.sort_unstable();
        signatures.dedup();
        assert_eq!(signatures.len(), 5, "every signature is fresh");
    }

    #[test]
    fn the_root_is_read_from_a_tree_announcement() {
        let signer = key(3);
        let mut repr = AnnouncementRepr::new_root(PublicKey::of(&signer), 42);
        repr.sign_and_append(1, &signer).expect("sign");
        let mut payload = vec![0u8; repr.encoded_len()];
        repr.emit(&mut payload).expect("emit payload");
        let mut frame = vec![0u8; AnnouncementFrame::encoded_len(payload.len())];
        AnnouncementFrame::emit(&payload, &mut frame).expect("emit frame");
        let parsed = Frame::parse(&frame).expect("parses");
        assert_eq!(
            announced_root(&parsed),
            Some(Root {
                key: PublicKey::of(&signer),
                seq: 42
            })
        );
        let keepalive = keepalive();
        assert_eq!(
            announced_root(&Frame::parse(&keepalive).expect("parses")),
            None
        );
    }
}
