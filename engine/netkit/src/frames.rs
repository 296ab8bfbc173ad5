//! Frames built by hand, as fake peers would send them, and helpers to read
//! what a router sends.

use ed25519_dalek::SigningKey;
use pinecone_engine::control::{Millis, Port, Router, Transmit};
use pinecone_engine::wire::{
    Announcement, AnnouncementFrame, AnnouncementRepr, BootstrapRepr, BroadcastRepr, Coords, Frame,
    FrameType, PublicKey, RootPayloadRepr, TrafficRepr, Watermark,
};

/// The public key of `key`.
pub fn pk(key: &SigningKey) -> PublicKey {
    PublicKey::of(key)
}

/// A tree announcement frame: the root is `chain[0]`, each `(key, hop)`
/// signs in turn; the last signer is the sender.
pub fn announcement(root_seq: u64, chain: &[(&SigningKey, u64)]) -> Vec<u8> {
    let mut repr = AnnouncementRepr::new_root(pk(chain[0].0), root_seq);
    for (key, hop) in chain {
        repr.sign_and_append(*hop, key).unwrap();
    }
    let mut payload = vec![0; repr.encoded_len()];
    repr.emit(&mut payload).unwrap();
    let mut frame = vec![0; AnnouncementFrame::encoded_len(payload.len())];
    AnnouncementFrame::emit(&payload, &mut frame).unwrap();
    frame
}

/// A signed bootstrap or broadcast payload.
pub fn root_payload(signer: &SigningKey, sequence: u64, root: (PublicKey, u64)) -> Vec<u8> {
    let repr = RootPayloadRepr {
        sequence,
        root: root.0,
        root_seq: root.1,
    };
    let mut out = vec![0; repr.encoded_len()];
    repr.emit_signed(signer, &mut out).unwrap();
    out
}

/// A bootstrap frame from `signer`.
pub fn bootstrap(
    signer: &SigningKey,
    sequence: u64,
    root: (PublicKey, u64),
    watermark: Watermark,
) -> Vec<u8> {
    let payload = root_payload(signer, sequence, root);
    let repr = BootstrapRepr {
        hop_limit: 0,
        dest_key: pk(signer),
        watermark,
        payload: &payload,
    };
    let mut out = vec![0; repr.encoded_len()];
    repr.emit(&mut out).unwrap();
    out
}

/// A wakeup broadcast frame from `signer`.
pub fn broadcast(
    signer: &SigningKey,
    sequence: u64,
    root: (PublicKey, u64),
    hop_limit: u8,
) -> Vec<u8> {
    let payload = root_payload(signer, sequence, root);
    let repr = BroadcastRepr {
        hop_limit,
        source_key: pk(signer),
        payload: &payload,
    };
    let mut out = vec![0; repr.encoded_len()];
    repr.emit(&mut out).unwrap();
    out
}

/// A traffic frame from a node at coordinates `[1]`, with a hop limit of
/// 10.
pub fn traffic(
    dest: PublicKey,
    dest_coords: &[u64],
    src: PublicKey,
    watermark: Watermark,
    payload: &[u8],
) -> Vec<u8> {
    let repr = TrafficRepr {
        hop_limit: 10,
        dest_coords: Coords(dest_coords.to_vec()),
        src_coords: Coords(vec![1]),
        dest_key: dest,
        src_key: src,
        watermark,
        payload,
    };
    let mut out = vec![0; repr.encoded_len()];
    repr.emit(&mut out).unwrap();
    out
}

/// Everything `router` queued, in order.
pub fn drain(router: &mut Router) -> Vec<Transmit> {
    std::iter::from_fn(|| router.poll_transmit()).collect()
}

/// The frame type byte of a frame.
pub fn frame_type(frame: &[u8]) -> u8 {
    frame[5]
}

/// The type byte of a keepalive.
pub const KEEPALIVE: u8 = FrameType::Keepalive as u8;
/// The type byte of a tree announcement.
pub const ANNOUNCEMENT: u8 = FrameType::TreeAnnouncement as u8;
/// The type byte of a SNEK bootstrap.
pub const BOOTSTRAP: u8 = FrameType::Bootstrap as u8;
/// The type byte of a traffic frame.
pub const TRAFFIC: u8 = FrameType::Traffic as u8;
/// The type byte of a wakeup broadcast.
pub const BROADCAST: u8 = FrameType::WakeupBroadcast as u8;

/// The transmits of one frame type.
pub fn of_type(transmits: &[Transmit], ty: u8) -> Vec<&Transmit> {
    transmits
        .iter()
        .filter(|t| frame_type(&t.frame) == ty)
        .collect()
}

/// The ports that got a frame of type `ty`.
pub fn ports_of_type(transmits: &[Transmit], ty: u8) -> Vec<Port> {
    of_type(transmits, ty).iter().map(|t| t.port).collect()
}

/// A decoded announcement frame: root key, root sequence, signers, hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentAnnouncement {
    /// The root it announces.
    pub root: PublicKey,
    /// The root's sequence number.
    pub seq: u64,
    /// Every signer, the root first.
    pub signers: Vec<PublicKey>,
    /// The hop (port) each signer signed for.
    pub hops: Vec<u64>,
}

/// Decodes and checks an announcement `from` sent.
pub fn read_announcement(frame: &[u8], from: &PublicKey) -> SentAnnouncement {
    let Ok(Frame::TreeAnnouncement(f)) = Frame::parse(frame) else {
        panic!("not an announcement");
    };
    let ann = Announcement::parse(f.payload()).unwrap();
    ann.check(from).unwrap();
    SentAnnouncement {
        root: ann.root(),
        seq: ann.root_seq(),
        signers: ann.entries().map(|e| e.signer).collect(),
        hops: ann.entries().map(|e| e.hop).collect(),
    }
}

/// `base` plus `ms` milliseconds.
pub fn at(base: Millis, ms: u64) -> Millis {
    Millis(base.0 + ms)
}
