//! Valid frames, announcements and streams to measure against.
//!
//! Keys come from fixed seeds, so every run measures the same bytes.

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    emit_keepalive, AnnouncementFrame, AnnouncementRepr, BootstrapRepr, Coords, EncodeError,
    PublicKey, RootPayloadRepr, TrafficRepr, Watermark, DEFAULT_HOP_LIMIT, HEADER_LEN,
};

/// Payload size of a small traffic frame.
pub const SMALL_PAYLOAD: usize = 64;
/// Payload size of a full-MTU traffic frame (the IPv6 minimum MTU).
pub const MTU_PAYLOAD: usize = 1280;

/// Coordinates of the sender in every sample: three hops below the root.
const SOURCE_PORTS: [u64; 3] = [1, 5, 3];
/// Coordinates of the destination of tree-routed samples.
const DESTINATION_PORTS: [u64; 4] = [1, 4, 2, 7];

/// Index of the root's key in [`announcement`]; hop *i* is signed by the
/// key at `ROOT_INDEX + i`.
const ROOT_INDEX: u16 = 1000;

/// The signing key numbered `index`: its seed is `index` big-endian followed
/// by a fixed filler.
pub fn signing_key(index: u16) -> SigningKey {
    let mut seed = [0x5e; 32];
    seed[..2].copy_from_slice(&index.to_be_bytes());
    SigningKey::from_bytes(&seed)
}

/// The fields of a SNEK-routed traffic frame (empty destination
/// coordinates, so a watermark is on the wire) carrying `payload`.
pub fn snek_traffic(payload: &[u8]) -> TrafficRepr<'_> {
    TrafficRepr {
        hop_limit: DEFAULT_HOP_LIMIT,
        dest_coords: Coords::ROOT,
        src_coords: Coords(SOURCE_PORTS.to_vec()),
        dest_key: PublicKey::of(&signing_key(2)),
        src_key: PublicKey::of(&signing_key(1)),
        watermark: Watermark {
            key: PublicKey::of(&signing_key(3)),
            seq: 1_700_000_000_000,
        },
        payload,
    }
}

/// The fields of a tree-routed traffic frame (destination coordinates
/// set, no watermark on the wire) carrying `payload`.
pub fn tree_traffic(payload: &[u8]) -> TrafficRepr<'_> {
    TrafficRepr {
        dest_coords: Coords(DESTINATION_PORTS.to_vec()),
        watermark: Watermark::FRESH,
        ..snek_traffic(payload)
    }
}

/// Encodes `repr` into a buffer of its exact size.
pub fn traffic_frame(repr: &TrafficRepr<'_>) -> Result<Vec<u8>, EncodeError> {
    emit_to_vec(repr.encoded_len(), |out| repr.emit(out))
}

/// A bootstrap frame from the node with key number 1, carrying its signed
/// root payload.
pub fn bootstrap_frame() -> Result<Vec<u8>, EncodeError> {
    let node = signing_key(1);
    let root_payload = RootPayloadRepr {
        sequence: 1_700_000_000_000,
        root: PublicKey::of(&signing_key(9)),
        root_seq: 42,
    };
    let payload = emit_to_vec(root_payload.encoded_len(), |out| {
        root_payload.emit_signed(&node, out)
    })?;
    let repr = BootstrapRepr {
        hop_limit: 0,
        dest_key: PublicKey::of(&node),
        watermark: Watermark::FRESH,
        payload: &payload,
    };
    emit_to_vec(repr.encoded_len(), |out| repr.emit(out))
}

/// An announcement payload that has travelled `hops` hops from its root,
/// signed along the way, and the key of the last signer: the direct peer
/// a receiver must check it against.
pub fn announcement(hops: u16) -> Result<(Vec<u8>, PublicKey), EncodeError> {
    let root = signing_key(ROOT_INDEX);
    let mut repr = AnnouncementRepr::new_root(PublicKey::of(&root), 7);
    let mut last = PublicKey::of(&root);
    for hop in 0..hops {
        // The payload limit stops the loop (TooLarge) long before the
        // index could overflow.
        let signer = signing_key(ROOT_INDEX + hop);
        repr.sign_and_append(u64::from(hop) + 1, &signer)?;
        last = PublicKey::of(&signer);
    }
    let payload = emit_to_vec(repr.encoded_len(), |out| repr.emit(out))?;
    Ok((payload, last))
}

/// A tree announcement frame carrying an announcement of `hops` hops.
pub fn announcement_frame(hops: u16) -> Result<Vec<u8>, EncodeError> {
    let (payload, _) = announcement(hops)?;
    emit_to_vec(AnnouncementFrame::encoded_len(payload.len()), |out| {
        AnnouncementFrame::emit(&payload, out)
    })
}

/// A keepalive frame.
pub fn keepalive_frame() -> Result<Vec<u8>, EncodeError> {
    emit_to_vec(HEADER_LEN, emit_keepalive)
}

/// A stream of whole frames of mixed types and sizes, as a busy peering
/// carries, no longer than `max_len` bytes. Returns the stream and the
/// number of frames in it.
pub fn mixed_stream(max_len: usize) -> Result<(Vec<u8>, usize), EncodeError> {
    let small = vec![0x5a; SMALL_PAYLOAD];
    let medium = vec![0xa5; 512];
    let large = vec![0x3c; MTU_PAYLOAD];
    let cycle = [
        traffic_frame(&snek_traffic(&large))?,
        traffic_frame(&tree_traffic(&small))?,
        traffic_frame(&snek_traffic(&medium))?,
        traffic_frame(&tree_traffic(&large))?,
        bootstrap_frame()?,
        traffic_frame(&snek_traffic(&small))?,
        announcement_frame(4)?,
        keepalive_frame()?,
    ];
    let mut stream = Vec::with_capacity(max_len);
    let mut frames = 0;
    for frame in cycle.iter().cycle() {
        if stream.len() + frame.len() > max_len {
            break;
        }
        stream.extend_from_slice(frame);
        frames += 1;
    }
    Ok((stream, frames))
}

fn emit_to_vec(
    len: usize,
    emit: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![0u8; len];
    let written = emit(&mut out)?;
    out.truncate(written);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinecone_engine::wire::{Announcement, Deframer, Frame};

    #[test]
    fn traffic_samples_parse_back() {
        let payload = [7u8; SMALL_PAYLOAD];
        for repr in [snek_traffic(&payload), tree_traffic(&payload)] {
            let frame = traffic_frame(&repr).unwrap();
            let Ok(Frame::Traffic(parsed)) = Frame::parse(&frame) else {
                panic!("sample is not a traffic frame");
            };
            assert_eq!(parsed.to_repr(), repr);
        }
    }

    #[test]
    fn announcement_checks_from_its_last_signer() {
        let (payload, peer) = announcement(5).unwrap();
        let parsed = Announcement::parse(&payload).unwrap();
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed.check(&peer), Ok(()));
    }

    #[test]
    fn mixed_stream_holds_whole_valid_frames() {
        let max_len = 100_000;
        let (stream, frames) = mixed_stream(max_len).unwrap();
        assert!(stream.len() <= max_len);
        let mut deframer = Deframer::new();
        deframer.push(&stream);
        let mut seen = 0;
        while let Some(frame) = deframer.next_frame().unwrap() {
            assert!(Frame::parse(frame).is_ok());
            seen += 1;
        }
        assert_eq!(seen, frames);
        assert_eq!(deframer.buffered(), 0);
    }
}
