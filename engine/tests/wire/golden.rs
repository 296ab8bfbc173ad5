//! Every golden vector produced by the Go reference must pass: valid ones
//! decode, re-encode and rebuild from their fields to the identical bytes;
//! invalid ones are refused with the specific error for the case.

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    emit_keepalive, varu64, Announcement, AnnouncementError, AnnouncementFrame, AnnouncementRepr,
    BootstrapRepr, BroadcastRepr, Coords, Deframer, Field, Frame, Handshake, HandshakeError,
    ParseError, PublicKey, RootPayload, RootPayloadRepr, TrafficRepr, Watermark,
};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("../data/go-reference-v1.json");
    serde_json::from_str(text).expect("vector file is JSON")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn seed(name: &str) -> SigningKey {
    let v = vectors();
    let seed: [u8; 32] = bytes(&v["keys"][name]["seed"]).try_into().unwrap();
    SigningKey::from_bytes(&seed)
}

fn key(name: &str) -> PublicKey {
    let public = PublicKey::of(&seed(name));
    let v = vectors();
    assert_eq!(
        public.as_bytes().to_vec(),
        bytes(&v["keys"][name]["public"]),
        "public key of {name}"
    );
    public
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("vector {name} missing"))
}

fn emit_with(len: usize, f: impl FnOnce(&mut [u8]) -> usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let n = f(&mut out);
    out.truncate(n);
    out
}

#[test]
fn keys_match_seeds() {
    for name in ["A", "B", "C"] {
        key(name);
    }
}

#[test]
fn varu64_vectors() {
    let v = vectors();
    let list = v["varu64"].as_array().unwrap();
    assert!(list.len() >= 10);
    for case in list {
        let encoded = bytes(&case["hex"]);
        let value: u64 = case["value"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            varu64::decode(&encoded, Field::Sequence),
            Ok((value, encoded.len()))
        );
        let mut out = [0u8; varu64::MAX_LEN];
        let n = varu64::encode(value, &mut out).unwrap();
        assert_eq!(&out[..n], &encoded[..], "encoding {value}");
    }
}

#[test]
fn coordinate_vectors() {
    let v = vectors();
    for case in v["coordinates"].as_array().unwrap() {
        let encoded = bytes(&case["hex"]);
        let ports: Vec<u64> = case["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect();
        let coords = Coords::parse(&encoded).unwrap();
        assert_eq!(coords.ports(), &ports[..]);
        assert_eq!(emit_with(64, |o| coords.emit(o).unwrap()), encoded);
    }
}

#[test]
fn keepalive_vector() {
    let v = vectors();
    let hex = bytes(&named(&v["frames"], "keepalive")["hex"]);
    let Ok(Frame::Keepalive(header)) = Frame::parse(&hex) else {
        panic!("not a keepalive");
    };
    assert_eq!(emit_with(10, |o| header.emit(o).unwrap()), hex);
    assert_eq!(emit_with(10, |o| emit_keepalive(o).unwrap()), hex);
}

#[test]
fn tree_announcement_chain() {
    let v = vectors();
    let chain = named(&v["frames"], "tree_announcement_chain");
    let mut built = AnnouncementRepr::new_root(key("A"), 7);
    let mut previous: Option<Vec<u8>> = None;
    for stage in chain["stages"].as_array().unwrap() {
        let signer_name = stage["signed_by"].as_str().unwrap();
        let signer = seed(signer_name);
        let hop = stage["for_port"].as_u64().unwrap();
        let payload = bytes(&stage["payload_hex"]);
        let frame = bytes(&stage["frame_hex"]);
        let coords: Vec<u64> = stage["coords"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect();

        // Build from fields.
        built.sign_and_append(hop, &signer).unwrap();
        assert_eq!(emit_with(65535, |o| built.emit(o).unwrap()), payload);
        assert_eq!(
            emit_with(65535, |o| AnnouncementFrame::emit(&payload, o).unwrap()),
            frame
        );

        // Build by appending to the previous stage's payload.
        if let Some(prev) = &previous {
            let prev = Announcement::parse(prev).unwrap();
            let appended = emit_with(65535, |o| prev.emit_appended(hop, &signer, o).unwrap());
            assert_eq!(appended, payload);
        }

        // Decode, check and re-encode.
        let Ok(Frame::TreeAnnouncement(view)) = Frame::parse(&frame) else {
            panic!("stage did not parse as a tree announcement");
        };
        assert_eq!(view.payload(), &payload[..]);
        assert_eq!(emit_with(65535, |o| view.to_repr().emit(o).unwrap()), frame);
        let ann = Announcement::parse(view.payload()).unwrap();
        assert_eq!(ann.root(), key("A"));
        assert_eq!(ann.root_seq(), 7);
        ann.check(&key(signer_name)).unwrap();
        assert_eq!(ann.coords().ports(), &coords[..]);
        assert_eq!(ann.peer_coords().ports(), &coords[..coords.len() - 1]);
        assert!(ann.has_signer(&key(signer_name)));
        assert_eq!(
            emit_with(65535, |o| ann.to_repr().emit(o).unwrap()),
            payload
        );
        previous = Some(payload);
    }
}

#[test]
fn bootstrap_vector() {
    let v = vectors();
    let case = named(&v["frames"], "bootstrap");
    let frame = bytes(&case["hex"]);
    let payload = bytes(&case["payload_hex"]);
    let repr = RootPayloadRepr {
        sequence: 1_700_000_000_000,
        root: key("A"),
        root_seq: 7,
    };
    assert_eq!(
        emit_with(200, |o| repr.emit_signed(&seed("B"), o).unwrap()),
        payload
    );
    let built = BootstrapRepr {
        hop_limit: 0,
        dest_key: key("B"),
        watermark: Watermark {
            key: key("C"),
            seq: 12345,
        },
        payload: &payload,
    };
    assert_eq!(emit_with(400, |o| built.emit(o).unwrap()), frame);

    let Ok(Frame::Bootstrap(view)) = Frame::parse(&frame) else {
        panic!("not a bootstrap");
    };
    assert_eq!(view.to_repr(), built);
    let parsed = RootPayload::parse(view.payload()).unwrap();
    assert_eq!(parsed.to_repr(), repr);
    assert_eq!(parsed.protected(), &bytes(&case["protected_hex"])[..]);
    assert!(parsed.verify(&view.dest_key()));
    assert!(!parsed.verify(&key("A")));
}

#[test]
fn wakeup_broadcast_vector() {
    let v = vectors();
    let case = named(&v["frames"], "wakeup_broadcast");
    let frame = bytes(&case["hex"]);
    let payload = bytes(&case["payload_hex"]);
    let repr = RootPayloadRepr {
        sequence: 1_700_000_000_123,
        root: key("C"),
        root_seq: 2,
    };
    assert_eq!(
        emit_with(200, |o| repr.emit_signed(&seed("A"), o).unwrap()),
        payload
    );
    let built = BroadcastRepr {
        hop_limit: 5,
        source_key: key("A"),
        payload: &payload,
    };
    assert_eq!(emit_with(400, |o| built.emit(o).unwrap()), frame);

    let Ok(Frame::WakeupBroadcast(view)) = Frame::parse(&frame) else {
        panic!("not a broadcast");
    };
    assert_eq!(view.to_repr(), built);
    let parsed = RootPayload::parse(view.payload()).unwrap();
    assert_eq!(parsed.to_repr(), repr);
    assert_eq!(parsed.protected(), &bytes(&case["protected_hex"])[..]);
    assert!(parsed.verify(&view.source_key()));
}

fn traffic_case(name: &str, repr: TrafficRepr<'_>) {
    let v = vectors();
    let frame = bytes(&named(&v["frames"], name)["hex"]);
    assert_eq!(emit_with(400, |o| repr.emit(o).unwrap()), frame, "{name}");
    let Ok(Frame::Traffic(view)) = Frame::parse(&frame) else {
        panic!("{name} is not traffic");
    };
    assert_eq!(view.to_repr(), repr, "{name}");
    assert_eq!(view.wire_watermark().is_some(), repr.dest_coords.is_root());
}

#[test]
fn traffic_vectors() {
    traffic_case(
        "traffic_tree",
        TrafficRepr {
            hop_limit: 10,
            dest_coords: Coords(vec![1, 2, 3, 4, 5000]),
            src_coords: Coords(vec![4, 3, 2, 1]),
            dest_key: key("C"),
            src_key: key("A"),
            watermark: Watermark::FRESH,
            payload: b"ABCDEFG",
        },
    );
    traffic_case(
        "traffic_snek",
        TrafficRepr {
            hop_limit: 10,
            dest_coords: Coords::ROOT,
            src_coords: Coords(vec![4, 3, 2, 1]),
            dest_key: key("C"),
            src_key: key("A"),
            watermark: Watermark {
                key: key("B"),
                seq: 99,
            },
            payload: b"ABCDEFG",
        },
    );
    traffic_case(
        "traffic_snek_fresh_empty",
        TrafficRepr {
            hop_limit: 10,
            dest_coords: Coords::ROOT,
            src_coords: Coords::ROOT,
            dest_key: key("C"),
            src_key: key("A"),
            watermark: Watermark::FRESH,
            payload: b"",
        },
    );
}

#[test]
fn every_valid_frame_round_trips_through_the_deframer() {
    let v = vectors();
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for case in v["frames"].as_array().unwrap() {
        let frames = match case.get("stages") {
            Some(stages) => stages
                .as_array()
                .unwrap()
                .iter()
                .map(|s| bytes(&s["frame_hex"]))
                .collect(),
            None => vec![bytes(&case["hex"])],
        };
        for frame in frames {
            stream.extend_from_slice(&frame);
            expected.push(frame);
        }
    }
    for chunk in [1, 3, 7, 64, stream.len()] {
        let mut deframer = Deframer::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            deframer.push(piece);
            while let Some(frame) = deframer.next_frame().unwrap() {
                got.push(frame.to_vec());
            }
        }
        assert_eq!(got, expected, "chunk size {chunk}");
    }
}

#[test]
fn invalid_frames_are_refused_with_their_error() {
    let v = vectors();
    let invalid = &v["frames_invalid"];
    let expect = |name: &str, err: ParseError| {
        let case = named(invalid, name);
        assert_eq!(case["reference_rejects"], true);
        let frame = bytes(&case["hex"]);
        assert_eq!(Frame::parse(&frame).err(), Some(err), "{name}");
    };
    expect("bad_magic", ParseError::BadMagic(*b"qine"));
    expect(
        "length_too_long",
        ParseError::LengthMismatch {
            declared: 98,
            actual: 97,
        },
    );
    expect("payload_truncated", ParseError::Truncated(Field::Payload));
    expect("short_header", ParseError::Truncated(Field::Header));
    assert_eq!(
        invalid.as_array().unwrap().len(),
        4,
        "a new vector needs a case"
    );

    // The deframer refuses a bad stream as soon as the magic is wrong.
    let mut deframer = Deframer::new();
    deframer.push(&bytes(&named(invalid, "bad_magic")["hex"]));
    assert_eq!(deframer.next_frame(), Err(ParseError::BadMagic(*b"qine")));
}

#[test]
fn invalid_announcements_are_refused_with_their_error() {
    let v = vectors();
    let invalid = v["announcements_invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 6, "a new vector needs a case");
    for case in invalid {
        let name = case["name"].as_str().unwrap();
        let payload = bytes(&case["payload_hex"]);
        let ann = Announcement::parse(&payload).unwrap();
        // The sender: named in the vector, else the last signer.
        let from = match case.get("from") {
            Some(who) => key(who.as_str().unwrap()),
            None => ann.entries().last().unwrap().signer,
        };
        let expected = match name {
            "bad_last_signature" => AnnouncementError::BadSignature { index: 2, hop: 1 },
            "tampered_first_hop" => AnnouncementError::BadSignature { index: 0, hop: 3 },
            "loop" => AnnouncementError::RoutingLoop,
            "first_signature_not_root" => AnnouncementError::FirstSignerNotRoot,
            "zero_hop" => AnnouncementError::ZeroHop,
            "not_from_direct_peer" => AnnouncementError::LastSignerNotPeer,
            other => panic!("no expectation for announcement vector {other}"),
        };
        assert_eq!(ann.check(&from), Err(expected), "{name}");
        if case["signatures_valid"] == true {
            assert_eq!(ann.verify_signatures(), Ok(()), "{name}");
            assert_eq!(ann.sanity_check(&from), Err(expected), "{name}");
        }
    }
}

#[test]
fn handshake_vector() {
    let v = vectors();
    let hex = bytes(&v["handshake"]["hex"]);
    let ours = Handshake::new(&seed("A"));
    assert_eq!(ours.as_bytes().to_vec(), hex);
    let theirs = Handshake::from_bytes(&hex).unwrap();
    assert_eq!(theirs.verify(&key("B")), Ok(key("A")));
    assert_eq!(theirs.verify(&key("A")), Err(HandshakeError::OwnKey));

    let mut bad = hex.clone();
    bad[0] = 2;
    assert_eq!(
        Handshake::from_bytes(&bad).unwrap().verify(&key("B")),
        Err(HandshakeError::VersionMismatch { ours: 1, theirs: 2 })
    );
    let mut bad = hex.clone();
    bad[7] = 0x3a;
    assert_eq!(
        Handshake::from_bytes(&bad).unwrap().verify(&key("B")),
        Err(HandshakeError::CapabilityMismatch {
            ours: 0x3b,
            theirs: 0x3a
        })
    );
    let mut bad = hex.clone();
    bad[103] ^= 1;
    assert_eq!(
        Handshake::from_bytes(&bad).unwrap().verify(&key("B")),
        Err(HandshakeError::BadSignature)
    );
    assert_eq!(
        Handshake::from_bytes(&hex[..103]),
        Err(HandshakeError::WrongLength {
            expected: 104,
            actual: 103
        })
    );
}
