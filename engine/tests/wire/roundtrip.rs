//! Property tests over the whole wire format: random values of every type
//! are encoded, parsed back to the same fields and re-encoded to the same
//! bytes; every encoder refuses a buffer one byte short and a frame over
//! 65535 bytes; and cut, padded or corrupted input is refused, never
//! panicking.

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    emit_keepalive, varu64, Announcement, AnnouncementFrame, AnnouncementRepr, BootstrapRepr,
    BroadcastRepr, Coords, Deframer, EncodeError, Field, Frame, Handshake, HandshakeError,
    ParseError, PublicKey, RootPayload, RootPayloadRepr, SignatureEntryRepr, TrafficRepr,
    Watermark, HANDSHAKE_LEN, HEADER_LEN, MAX_FRAME_LEN,
};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Few cases per property, so that the file runs in a few seconds.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

/// Fewer still where every case signs and verifies (slow without
/// optimisation).
fn signing_config() -> ProptestConfig {
    ProptestConfig::with_cases(16)
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Port numbers and sequences: small ones (one or two bytes on the wire)
/// as often as arbitrary ones (up to ten).
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..300, any::<u64>()]
}

fn coords(min_len: usize) -> impl Strategy<Value = Coords> {
    vec(number(), min_len..8).prop_map(Coords)
}

fn public_key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey)
}

/// Keys drawn from a tiny set, so that equal keys come up often.
fn clashing_key() -> impl Strategy<Value = PublicKey> {
    prop_oneof![
        Just(PublicKey([0; 32])),
        Just(PublicKey([0x80; 32])),
        Just(PublicKey::FULL_MASK),
    ]
}

fn watermark() -> impl Strategy<Value = Watermark> {
    (public_key(), number()).prop_map(|(key, seq)| Watermark { key, seq })
}

fn clashing_watermark() -> impl Strategy<Value = Watermark> {
    (clashing_key(), prop_oneof![0u64..4, any::<u64>()])
        .prop_map(|(key, seq)| Watermark { key, seq })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..300)
}

fn signing_key() -> impl Strategy<Value = SigningKey> {
    any::<[u8; 32]>().prop_map(|seed| SigningKey::from_bytes(&seed))
}

/// The fields of a traffic frame, owning the payload a [`TrafficRepr`]
/// borrows.
#[derive(Debug, Clone)]
struct Traffic {
    hop_limit: u8,
    dest_coords: Coords,
    src_coords: Coords,
    dest_key: PublicKey,
    src_key: PublicKey,
    watermark: Watermark,
    payload: Vec<u8>,
}

impl Traffic {
    fn repr(&self) -> TrafficRepr<'_> {
        TrafficRepr {
            hop_limit: self.hop_limit,
            dest_coords: self.dest_coords.clone(),
            src_coords: self.src_coords.clone(),
            dest_key: self.dest_key,
            src_key: self.src_key,
            watermark: self.watermark,
            payload: &self.payload,
        }
    }
}

/// Traffic routed by SNEK (empty destination coordinates, watermark on the
/// wire) or, with `tree_routed`, by tree coordinates.
fn traffic(tree_routed: bool) -> impl Strategy<Value = Traffic> {
    let dest_coords = if tree_routed {
        coords(1).boxed()
    } else {
        Just(Coords::ROOT).boxed()
    };
    (
        any::<u8>(),
        dest_coords,
        coords(0),
        public_key(),
        public_key(),
        watermark(),
        payload(),
    )
        .prop_map(
            |(hop_limit, dest_coords, src_coords, dest_key, src_key, watermark, payload)| Traffic {
                hop_limit,
                dest_coords,
                src_coords,
                dest_key,
                src_key,
                watermark,
                payload,
            },
        )
}

/// The fields of a bootstrap frame with an owned payload.
#[derive(Debug, Clone)]
struct Bootstrap {
    hop_limit: u8,
    dest_key: PublicKey,
    watermark: Watermark,
    payload: Vec<u8>,
}

impl Bootstrap {
    fn repr(&self) -> BootstrapRepr<'_> {
        BootstrapRepr {
            hop_limit: self.hop_limit,
            dest_key: self.dest_key,
            watermark: self.watermark,
            payload: &self.payload,
        }
    }
}

fn bootstrap() -> impl Strategy<Value = Bootstrap> {
    (any::<u8>(), public_key(), watermark(), payload()).prop_map(
        |(hop_limit, dest_key, watermark, payload)| Bootstrap {
            hop_limit,
            dest_key,
            watermark,
            payload,
        },
    )
}

/// The fields of a wakeup broadcast frame with an owned payload.
#[derive(Debug, Clone)]
struct Broadcast {
    hop_limit: u8,
    source_key: PublicKey,
    payload: Vec<u8>,
}

impl Broadcast {
    fn repr(&self) -> BroadcastRepr<'_> {
        BroadcastRepr {
            hop_limit: self.hop_limit,
            source_key: self.source_key,
            payload: &self.payload,
        }
    }
}

fn broadcast() -> impl Strategy<Value = Broadcast> {
    (any::<u8>(), public_key(), payload()).prop_map(|(hop_limit, source_key, payload)| Broadcast {
        hop_limit,
        source_key,
        payload,
    })
}

/// A chain of one to six distinct signers (the first is the root) with the
/// non-zero port each sent the announcement out of.
fn signer_chain() -> impl Strategy<Value = Vec<(SigningKey, u64)>> {
    btree_set(any::<[u8; 32]>(), 1..=6).prop_flat_map(|seeds| {
        let hops = vec(prop_oneof![1u64..64, 1..=u64::MAX], seeds.len());
        (Just(seeds), hops)
            .prop_map(|(seeds, hops)| seeds.iter().map(SigningKey::from_bytes).zip(hops).collect())
    })
}

/// Signs an announcement along `chain`, rooted at its first signer.
fn signed_announcement(chain: &[(SigningKey, u64)], root_seq: u64) -> AnnouncementRepr {
    let root = PublicKey::of(&chain[0].0);
    let mut repr = AnnouncementRepr::new_root(root, root_seq);
    for (signer, hop) in chain {
        repr.sign_and_append(*hop, signer).expect("six entries fit");
    }
    repr
}

/// Whole valid frames of every known type.
fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        traffic(false).prop_map(|t| emit_traffic(&t.repr())),
        traffic(true).prop_map(|t| emit_traffic(&t.repr())),
        bootstrap().prop_map(|b| {
            let repr = b.repr();
            emit_full(repr.encoded_len(), |out| repr.emit(out))
        }),
        broadcast().prop_map(|b| {
            let repr = b.repr();
            emit_full(repr.encoded_len(), |out| repr.emit(out))
        }),
        payload().prop_map(|p| {
            emit_full(AnnouncementFrame::encoded_len(p.len()), |out| {
                AnnouncementFrame::emit(&p, out)
            })
        }),
        Just(emit_full(HEADER_LEN, emit_keepalive)),
    ]
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Encodes with `emit`, which must need exactly `len` bytes: a buffer one
/// byte short is refused with `BufferTooSmall`, a buffer of `len` bytes is
/// filled, and a larger one receives the same bytes.
fn emit_checked(
    len: usize,
    emit: impl Fn(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<Vec<u8>, TestCaseError> {
    let mut short = vec![0u8; len - 1];
    prop_assert_eq!(
        emit(&mut short),
        Err(EncodeError::BufferTooSmall {
            needed: len,
            available: len - 1
        })
    );
    let mut exact = vec![0u8; len];
    prop_assert_eq!(emit(&mut exact), Ok(len));
    let mut roomy = vec![0xee; len + 7];
    prop_assert_eq!(emit(&mut roomy), Ok(len));
    prop_assert_eq!(&roomy[..len], &exact[..]);
    Ok(exact)
}

/// Encodes with `emit` into a buffer of `len` bytes, for generating input.
fn emit_full(len: usize, emit: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let written = emit(&mut out).expect("generated value encodes");
    out.truncate(written);
    out
}

fn emit_traffic(repr: &TrafficRepr<'_>) -> Vec<u8> {
    emit_full(repr.encoded_len(), |out| repr.emit(out))
}

fn emit_announcement(repr: &AnnouncementRepr) -> Vec<u8> {
    emit_full(repr.encoded_len(), |out| repr.emit(out))
}

/// Overwrites the length in the header of `frame` with its actual length.
fn fix_length(frame: &mut [u8]) {
    let len = u16::try_from(frame.len()).expect("frame fits a u16 length");
    frame[8..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
}

/// A payload that brings a frame with `overhead` bytes besides its payload
/// to exactly `total` bytes.
fn filler(total: usize, overhead: usize) -> Vec<u8> {
    vec![0xab; total - overhead]
}

// ---------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn varu64_round_trips(value in number()) {
        let len = varu64::encoded_len(value);
        let bytes = emit_checked(len, |out| varu64::encode(value, out))?;
        prop_assert_eq!(varu64::decode(&bytes, Field::Sequence), Ok((value, len)));
        for cut in 0..len {
            prop_assert_eq!(
                varu64::decode(&bytes[..cut], Field::Sequence),
                Err(ParseError::Truncated(Field::Sequence))
            );
        }
    }

    #[test]
    fn coords_round_trip(original in coords(0)) {
        let bytes = emit_checked(original.encoded_len(), |out| original.emit(out))?;
        let parsed = Coords::parse(&bytes)?;
        prop_assert_eq!(&parsed, &original);
        let again = emit_checked(parsed.encoded_len(), |out| parsed.emit(out))?;
        prop_assert_eq!(&again, &bytes);
        for cut in 0..bytes.len() {
            prop_assert!(Coords::parse(&bytes[..cut]).is_err(), "cut at {}", cut);
        }
    }

    #[test]
    fn watermark_worse_than_is_a_strict_order(
        a in clashing_watermark(),
        b in clashing_watermark(),
        c in clashing_watermark(),
    ) {
        prop_assert!(!a.is_worse_than(&a));
        prop_assert!(!(a.is_worse_than(&b) && b.is_worse_than(&a)));
        if a.is_worse_than(&b) && b.is_worse_than(&c) {
            prop_assert!(a.is_worse_than(&c));
        }
    }

    #[test]
    fn watermark_worse_than_follows_the_definition(
        a in clashing_watermark(),
        b in clashing_watermark(),
    ) {
        // A higher key is worse whatever the sequences; on the same key only
        // a non-zero lower sequence is.
        let key_order = a.key.as_bytes().cmp(b.key.as_bytes());
        let expected = match key_order {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => a.seq != 0 && a.seq < b.seq,
        };
        prop_assert_eq!(a.is_worse_than(&b), expected);
    }

    #[test]
    fn fresh_watermark_is_worse_than_any_other_key(b in watermark()) {
        prop_assume!(b.key != PublicKey::FULL_MASK);
        prop_assert!(Watermark::FRESH.is_worse_than(&b));
        prop_assert!(!b.is_worse_than(&Watermark::FRESH));
    }
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/// Encodes `t`, parses it back and checks every field and the re-encoding.
fn check_traffic_round_trip(t: &Traffic) -> Result<(), TestCaseError> {
    let repr = t.repr();
    let bytes = emit_checked(repr.encoded_len(), |out| repr.emit(out))?;
    let Ok(Frame::Traffic(frame)) = Frame::parse(&bytes) else {
        return Err(TestCaseError::fail("not parsed as traffic"));
    };
    let snek_routed = t.dest_coords.is_root();
    prop_assert_eq!(frame.hop_limit(), t.hop_limit);
    prop_assert!(frame.dest_coords().eq_ports(t.dest_coords.ports()));
    prop_assert_eq!(frame.src_coords().to_coords(), t.src_coords.clone());
    prop_assert_eq!(frame.dest_key(), t.dest_key);
    prop_assert_eq!(frame.src_key(), t.src_key);
    prop_assert_eq!(frame.payload(), &t.payload[..]);
    if snek_routed {
        prop_assert_eq!(frame.wire_watermark(), Some(t.watermark));
        prop_assert_eq!(frame.watermark(), t.watermark);
    } else {
        prop_assert_eq!(frame.wire_watermark(), None);
        prop_assert_eq!(frame.watermark(), Watermark::FRESH);
    }
    let expected = TrafficRepr {
        watermark: frame.watermark(),
        ..repr
    };
    let decoded = frame.to_repr();
    prop_assert_eq!(&decoded, &expected);
    let again = emit_checked(decoded.encoded_len(), |out| decoded.emit(out))?;
    prop_assert_eq!(again, bytes);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn snek_traffic_round_trips(t in traffic(false)) {
        check_traffic_round_trip(&t)?;
    }

    #[test]
    fn tree_traffic_round_trips(t in traffic(true)) {
        check_traffic_round_trip(&t)?;
    }

    #[test]
    fn bootstrap_round_trips(b in bootstrap()) {
        let repr = b.repr();
        let bytes = emit_checked(repr.encoded_len(), |out| repr.emit(out))?;
        let Ok(Frame::Bootstrap(frame)) = Frame::parse(&bytes) else {
            return Err(TestCaseError::fail("not parsed as a bootstrap"));
        };
        prop_assert_eq!(frame.dest_key(), b.dest_key);
        prop_assert_eq!(frame.watermark(), b.watermark);
        prop_assert_eq!(frame.payload(), &b.payload[..]);
        let decoded = frame.to_repr();
        prop_assert_eq!(decoded, repr);
        let again = emit_checked(decoded.encoded_len(), |out| decoded.emit(out))?;
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn broadcast_round_trips(b in broadcast()) {
        let repr = b.repr();
        let bytes = emit_checked(repr.encoded_len(), |out| repr.emit(out))?;
        let Ok(Frame::WakeupBroadcast(frame)) = Frame::parse(&bytes) else {
            return Err(TestCaseError::fail("not parsed as a broadcast"));
        };
        prop_assert_eq!(frame.hop_limit(), b.hop_limit);
        prop_assert_eq!(frame.source_key(), b.source_key);
        prop_assert_eq!(frame.payload(), &b.payload[..]);
        let decoded = frame.to_repr();
        prop_assert_eq!(decoded, repr);
        let again = emit_checked(decoded.encoded_len(), |out| decoded.emit(out))?;
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn deframer_returns_frames_whatever_the_chunking(
        frames in vec(any_frame(), 1..8),
        chunk_len in 1usize..700,
    ) {
        let stream = frames.concat();
        let mut deframer = Deframer::new();
        let mut seen = Vec::new();
        for chunk in stream.chunks(chunk_len) {
            deframer.push(chunk);
            while let Some(frame) = deframer.next_frame()? {
                prop_assert!(Frame::parse(frame).is_ok());
                seen.push(frame.to_vec());
            }
        }
        prop_assert_eq!(seen, frames);
        prop_assert_eq!(deframer.buffered(), 0);
    }
}

#[test]
fn keepalive_round_trips() {
    let bytes = emit_checked(HEADER_LEN, emit_keepalive).expect("keepalive encodes");
    let Ok(Frame::Keepalive(header)) = Frame::parse(&bytes) else {
        panic!("not parsed as a keepalive");
    };
    assert_eq!(usize::from(header.length), HEADER_LEN);
    assert_eq!(header.hop_limit, 0);
}

// ---------------------------------------------------------------------------
// Signed payloads and the handshake
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(signing_config())]

    #[test]
    fn announcement_round_trips_and_checks(chain in signer_chain(), root_seq in number()) {
        let repr = signed_announcement(&chain, root_seq);
        let bytes = emit_checked(repr.encoded_len(), |out| repr.emit(out))?;
        let announcement = Announcement::parse(&bytes)?;
        let peer = PublicKey::of(&chain[chain.len() - 1].0);
        prop_assert_eq!(announcement.check(&peer), Ok(()));
        let hops: Vec<u64> = chain.iter().map(|(_, hop)| *hop).collect();
        prop_assert_eq!(announcement.coords(), Coords(hops.clone()));
        prop_assert_eq!(announcement.peer_coords(), Coords(hops[..hops.len() - 1].to_vec()));
        prop_assert_eq!(announcement.root(), PublicKey::of(&chain[0].0));
        prop_assert_eq!(announcement.root_seq(), root_seq);
        let signers: Vec<PublicKey> = announcement.entries().map(|e| e.signer).collect();
        let expected: Vec<PublicKey> = chain.iter().map(|(key, _)| PublicKey::of(key)).collect();
        prop_assert_eq!(&signers, &expected);
        prop_assert!(expected.iter().all(|key| announcement.has_signer(key)));
        let decoded = announcement.to_repr();
        prop_assert_eq!(&decoded, &repr);
        let again = emit_checked(decoded.encoded_len(), |out| decoded.emit(out))?;
        prop_assert_eq!(&again, &bytes);

        // Carried in a frame, the payload comes back unchanged.
        let frame = emit_checked(AnnouncementFrame::encoded_len(bytes.len()), |out| {
            AnnouncementFrame::emit(&bytes, out)
        })?;
        let Ok(Frame::TreeAnnouncement(parsed)) = Frame::parse(&frame) else {
            return Err(TestCaseError::fail("not parsed as an announcement"));
        };
        prop_assert_eq!(parsed.payload(), &bytes[..]);
    }

    #[test]
    fn forwarded_announcement_checks_from_the_forwarder(
        chain in signer_chain(),
        forwarder in signing_key(),
        hop in 1..=u64::MAX,
    ) {
        let forwarder_key = PublicKey::of(&forwarder);
        prop_assume!(chain.iter().all(|(key, _)| PublicKey::of(key) != forwarder_key));
        let bytes = emit_announcement(&signed_announcement(&chain, 1));
        let announcement = Announcement::parse(&bytes)?;
        let forwarded = emit_checked(announcement.appended_len(hop), |out| {
            announcement.emit_appended(hop, &forwarder, out)
        })?;
        let parsed = Announcement::parse(&forwarded)?;
        prop_assert_eq!(parsed.check(&forwarder_key), Ok(()));
        let mut hops: Vec<u64> = chain.iter().map(|(_, hop)| *hop).collect();
        hops.push(hop);
        prop_assert_eq!(parsed.coords(), Coords(hops));
    }

    #[test]
    fn corrupted_announcement_is_refused(
        chain in signer_chain(),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = emit_announcement(&signed_announcement(&chain, 1));
        // Every byte is covered by a signature except the last hop: the
        // sender's own port toward us, vouched for by the direct link.
        let last_hop = chain[chain.len() - 1].1;
        let last_hop_start = bytes.len() - 32 - 64 - varu64::encoded_len(last_hop);
        let covered = bytes.len() - varu64::encoded_len(last_hop);
        let mut at = index.index(covered);
        if at >= last_hop_start {
            at += varu64::encoded_len(last_hop);
        }
        bytes[at] ^= flip;
        let peer = PublicKey::of(&chain[chain.len() - 1].0);
        let verdict = Announcement::parse(&bytes).map(|a| a.check(&peer));
        prop_assert!(!matches!(verdict, Ok(Ok(()))), "byte {} corrupted yet accepted", at);
    }

    #[test]
    fn root_payload_round_trips_and_verifies(
        signer in signing_key(),
        other in signing_key(),
        sequence in number(),
        root in public_key(),
        root_seq in number(),
    ) {
        let repr = RootPayloadRepr { sequence, root, root_seq };
        let bytes = emit_checked(repr.encoded_len(), |out| repr.emit_signed(&signer, out))?;
        let payload = RootPayload::parse(&bytes)?;
        prop_assert_eq!(payload.to_repr(), repr);
        prop_assert!(payload.verify(&PublicKey::of(&signer)));
        prop_assume!(PublicKey::of(&other) != PublicKey::of(&signer));
        prop_assert!(!payload.verify(&PublicKey::of(&other)));
        let again = emit_checked(repr.encoded_len(), |out| {
            payload.to_repr().emit_signed(&signer, out)
        })?;
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn handshake_round_trips_and_verifies(signer in signing_key(), ours in signing_key()) {
        let key = PublicKey::of(&signer);
        let ours = PublicKey::of(&ours);
        prop_assume!(key != ours);
        let sent = Handshake::new(&signer);
        let received = Handshake::from_bytes(sent.as_bytes())?;
        prop_assert_eq!(received, sent);
        prop_assert_eq!(received.public_key(), key);
        prop_assert_eq!(received.verify(&ours), Ok(key));
        prop_assert_eq!(received.verify(&key), Err(HandshakeError::OwnKey));
        let resent = Handshake::new(&signer);
        prop_assert_eq!(resent.as_bytes(), received.as_bytes());
    }

    #[test]
    fn handshake_of_wrong_length_is_refused(bytes in vec(any::<u8>(), 0..200)) {
        prop_assume!(bytes.len() != HANDSHAKE_LEN);
        prop_assert_eq!(
            Handshake::from_bytes(&bytes),
            Err(HandshakeError::WrongLength { expected: HANDSHAKE_LEN, actual: bytes.len() })
        );
    }

    #[test]
    fn corrupted_handshake_is_refused(
        signer in signing_key(),
        index in 0..HANDSHAKE_LEN,
        flip in 1u8..=255,
    ) {
        let mut bytes = *Handshake::new(&signer).as_bytes();
        bytes[index] ^= flip;
        let ours = PublicKey([0x11; 32]);
        prop_assert!(Handshake::from_bytes(&bytes)?.verify(&ours).is_err());
    }
}

// ---------------------------------------------------------------------------
// Damaged input
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn truncated_frame_is_refused(frame in any_frame()) {
        for cut in 0..frame.len() {
            let prefix = &frame[..cut];
            let expected = if cut < HEADER_LEN {
                ParseError::Truncated(Field::Header)
            } else {
                ParseError::LengthMismatch { declared: frame.len(), actual: cut }
            };
            prop_assert_eq!(Frame::parse(prefix).err(), Some(expected));
        }
    }

    #[test]
    fn truncated_body_is_refused_even_with_a_matching_length(frame in any_frame()) {
        for cut in HEADER_LEN..frame.len() {
            let mut prefix = frame[..cut].to_vec();
            fix_length(&mut prefix);
            let result = Frame::parse(&prefix);
            prop_assert!(
                matches!(result, Err(ParseError::Truncated(_))),
                "cut at {} gave {:?}", cut, result
            );
        }
    }

    #[test]
    fn trailing_byte_is_refused(frame in any_frame(), extra in any::<u8>()) {
        let mut padded = frame;
        padded.push(extra);
        fix_length(&mut padded);
        prop_assert_eq!(Frame::parse(&padded).err(), Some(ParseError::TrailingBytes(1)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..400), pine in any::<bool>()) {
        let mut bytes = bytes;
        if pine && bytes.len() >= HEADER_LEN {
            // Give the fuzz a valid header so that bodies get parsed too.
            bytes[..4].copy_from_slice(b"pine");
            bytes[4] = 0;
            bytes[5] %= 5;
            bytes[6] = 0;
            fix_length(&mut bytes);
        }
        let _ = Frame::parse(&bytes);
        let _ = Announcement::parse(&bytes).map(|a| a.check(&PublicKey::FULL_MASK));
        let _ = RootPayload::parse(&bytes);
    }
}

// ---------------------------------------------------------------------------
// Size limits
// ---------------------------------------------------------------------------

/// Encodes a frame of one type carrying the given payload.
type FrameEncoder = Box<dyn Fn(&[u8], &mut [u8]) -> Result<usize, EncodeError>>;

/// An encoder for every frame type that carries a payload, with its name.
fn frame_encoders() -> Vec<(&'static str, FrameEncoder)> {
    let snek: FrameEncoder = Box::new(|p, out| sample_traffic(p, Coords::ROOT).emit(out));
    let tree: FrameEncoder = Box::new(|p, out| sample_traffic(p, Coords(vec![1, 2, 3])).emit(out));
    let bootstrap: FrameEncoder = Box::new(|p, out| {
        let repr = BootstrapRepr {
            hop_limit: 0,
            dest_key: PublicKey([1; 32]),
            watermark: Watermark::FRESH,
            payload: p,
        };
        repr.emit(out)
    });
    let broadcast: FrameEncoder = Box::new(|p, out| {
        let repr = BroadcastRepr {
            hop_limit: 2,
            source_key: PublicKey([1; 32]),
            payload: p,
        };
        repr.emit(out)
    });
    let announcement: FrameEncoder = Box::new(AnnouncementFrame::emit);
    vec![
        ("snek traffic", snek),
        ("tree traffic", tree),
        ("bootstrap", bootstrap),
        ("broadcast", broadcast),
        ("announcement", announcement),
    ]
}

fn sample_traffic(payload: &[u8], dest_coords: Coords) -> TrafficRepr<'_> {
    TrafficRepr {
        hop_limit: 10,
        dest_coords,
        src_coords: Coords(vec![1, 4]),
        dest_key: PublicKey([2; 32]),
        src_key: PublicKey([3; 32]),
        watermark: Watermark {
            key: PublicKey([4; 32]),
            seq: 300,
        },
        payload,
    }
}

/// Every frame encoder emits a frame of exactly 65535 bytes, which parses,
/// and refuses one byte more with `TooLarge`, whatever the buffer size.
#[test]
fn frames_stop_at_65535_bytes() {
    let mut out = vec![0u8; 2 * MAX_FRAME_LEN];
    for (name, encode) in frame_encoders() {
        let overhead = encode(&[], &mut out).expect("empty payload encodes");
        let fitting = filler(MAX_FRAME_LEN, overhead);
        assert_eq!(encode(&fitting, &mut out), Ok(MAX_FRAME_LEN), "{name}");
        assert!(Frame::parse(&out[..MAX_FRAME_LEN]).is_ok(), "{name}");

        let over = filler(MAX_FRAME_LEN + 1, overhead);
        assert_eq!(
            encode(&over, &mut out),
            Err(EncodeError::TooLarge {
                field: Field::Header,
                len: MAX_FRAME_LEN + 1
            }),
            "{name}"
        );
        let huge = vec![0u8; MAX_FRAME_LEN + 1];
        assert_eq!(
            encode(&huge, &mut out),
            Err(EncodeError::TooLarge {
                field: Field::Payload,
                len: MAX_FRAME_LEN + 1
            }),
            "{name}"
        );
    }
}

/// Coordinates whose varu64 ports exceed a 16-bit byte length are refused.
#[test]
fn coords_stop_at_65535_bytes() {
    // Ten bytes per port.
    let fitting = Coords(vec![u64::MAX; MAX_FRAME_LEN / 10]);
    let mut out = vec![0u8; 2 * MAX_FRAME_LEN];
    assert_eq!(fitting.emit(&mut out), Ok(fitting.encoded_len()));
    let over = Coords(vec![u64::MAX; MAX_FRAME_LEN / 10 + 1]);
    assert_eq!(
        over.emit(&mut out),
        Err(EncodeError::TooLarge {
            field: Field::DestinationCoords,
            len: over.encoded_len() - 2
        })
    );
}

/// An announcement grows to exactly 65535 bytes and no further.
#[test]
fn announcements_stop_at_65535_bytes() {
    const ENTRY_LEN: usize = 1 + 32 + 64;
    let mut repr = AnnouncementRepr::new_root(PublicKey([0xfe; 32]), 1);
    // Unsigned filler entries bring the payload to exactly one one-byte-hop
    // entry below the limit: first whole entries, then the remainder made
    // up by lengthening hops (a hop of 2^(7k) takes k + 1 bytes).
    let target = MAX_FRAME_LEN - ENTRY_LEN;
    let filler_entry = SignatureEntryRepr {
        hop: 1,
        signer: PublicKey([0x22; 32]),
        signature: [0x33; 64],
    };
    while repr.encoded_len() + ENTRY_LEN <= target {
        repr.entries.push(filler_entry);
    }
    let mut gap = target - repr.encoded_len();
    for entry in repr.entries.iter_mut() {
        if gap == 0 {
            break;
        }
        let extra = gap.min(9);
        entry.hop = 1 << (7 * extra);
        gap -= extra;
    }
    assert_eq!(repr.encoded_len(), target);

    let signer = SigningKey::from_bytes(&[7; 32]);
    assert_eq!(repr.sign_and_append(1, &signer), Ok(()));
    assert_eq!(repr.encoded_len(), MAX_FRAME_LEN);
    let bytes = emit_announcement(&repr);
    let announcement = Announcement::parse(&bytes).expect("full-size announcement parses");
    let last = announcement.entries().last().expect("has entries");
    assert!(last.verify());

    assert_eq!(
        repr.sign_and_append(1, &signer),
        Err(EncodeError::TooLarge {
            field: Field::Payload,
            len: MAX_FRAME_LEN + ENTRY_LEN
        })
    );
}
