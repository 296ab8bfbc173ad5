//! Tree announcement payloads: parsing and checking.
//!
//! Input: one mode byte, then, when its low bit is set and at least 32 bytes
//! follow, the key of the peer the announcement came from, then the payload.
//! Otherwise the payload is everything after the mode byte and it came from
//! its last signer (or, with no entries, its root).
//!
//! Parsing and checking never panic. An accepted payload re-encodes from its
//! decoded fields to the identical bytes, has one coordinate per entry, and
//! each entry's signed bytes are exactly the payload before it. Every verdict of the tree
//! rules is borne out by the entries, and `check` gives either a bad
//! signature of an existing entry or the tree rules' verdict.

#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use pinecone_engine::wire::{varu64, Announcement, AnnouncementError, PublicKey};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (from, payload) = match (mode & 1, rest.split_first_chunk::<32>()) {
        (1, Some((key, payload))) => (Some(PublicKey(*key)), payload),
        _ => (None, rest),
    };
    let Ok(announcement) = Announcement::parse(payload) else {
        return;
    };
    check_encoding(&announcement, payload);
    let from = from.unwrap_or_else(|| last_signer(&announcement));
    let rules = announcement.sanity_check(&from);
    check_rules_verdict(&announcement, &from, rules);
    // `check` verifies signatures first, so it reports a bad signature or,
    // with all signatures good, exactly the tree rules' verdict.
    match announcement.check(&from) {
        Err(AnnouncementError::BadSignature { index, hop }) => {
            check_bad_signature(&announcement, index, hop);
        }
        verdict => assert_eq!(verdict, rules),
    }
});

fn last_signer(announcement: &Announcement<'_>) -> PublicKey {
    announcement
        .entries()
        .last()
        .map_or(announcement.root(), |entry| entry.signer)
}

fn check_encoding(announcement: &Announcement<'_>, payload: &[u8]) {
    assert_eq!(announcement.as_bytes(), payload);
    let repr = announcement.to_repr();
    assert_eq!(repr.encoded_len(), payload.len());
    let mut out = vec![0u8; payload.len()];
    assert_eq!(repr.emit(&mut out), Ok(payload.len()));
    assert_eq!(out, payload);

    let hops: Vec<u64> = repr.entries.iter().map(|entry| entry.hop).collect();
    assert_eq!(announcement.len(), hops.len());
    assert_eq!(announcement.is_empty(), hops.is_empty());
    assert_eq!(announcement.coords().ports(), hops);
    assert_eq!(
        announcement.peer_coords().ports(),
        &hops[..hops.len().saturating_sub(1)]
    );

    let mut signed_len = 32 + varu64::encoded_len(announcement.root_seq());
    for (entry, owned) in announcement.entries().zip(&repr.entries) {
        assert_eq!(entry.signed, &payload[..signed_len]);
        assert_eq!((entry.hop, entry.signer), (owned.hop, owned.signer));
        assert_eq!(entry.signature, &owned.signature);
        assert!(announcement.has_signer(&entry.signer));
        signed_len += varu64::encoded_len(entry.hop) + 32 + 64;
    }
    assert_eq!(signed_len, payload.len());
}

/// A reported bad signature names an entry that exists, by its hop.
fn check_bad_signature(announcement: &Announcement<'_>, index: usize, hop: u64) {
    let entry = announcement
        .entries()
        .nth(index)
        .expect("the failing entry exists");
    assert_eq!(entry.hop, hop);
}

fn check_rules_verdict(
    announcement: &Announcement<'_>,
    from: &PublicKey,
    verdict: Result<(), AnnouncementError>,
) {
    let signers: Vec<PublicKey> = announcement.entries().map(|e| e.signer).collect();
    let distinct: BTreeSet<&PublicKey> = signers.iter().collect();
    let has_loop = distinct.len() != signers.len();
    let has_zero_hop = announcement.entries().any(|e| e.hop == 0);
    assert_eq!(announcement.has_signer(from), signers.contains(from));
    match verdict {
        Ok(()) => {
            assert_eq!(signers.first(), Some(&announcement.root()));
            assert_eq!(signers.last(), Some(from));
            assert!(!has_zero_hop && !has_loop);
        }
        Err(AnnouncementError::NoSignatures) => assert!(signers.is_empty()),
        Err(AnnouncementError::FirstSignerNotRoot) => {
            assert_ne!(signers.first(), Some(&announcement.root()));
        }
        Err(AnnouncementError::ZeroHop) => assert!(has_zero_hop),
        Err(AnnouncementError::LastSignerNotPeer) => assert_ne!(signers.last(), Some(from)),
        Err(AnnouncementError::RoutingLoop) => assert!(has_loop),
        Err(other) => panic!("tree rules gave {other:?}"),
    }
}
