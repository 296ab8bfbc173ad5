//! What one tree announcement can cost a router: the entry cap is enforced
//! before any signature is checked, and an announcement repeated byte for
//! byte is not checked, stored or acted on again (it only counts as
//! received).

use crate::solo::Solo;
use ed25519_dalek::SigningKey;
use pinecone_engine::control::{Event, PeerError, Port, RemovalReason, RouterConfig};
use pinecone_engine::wire::AnnouncementError;
use pinecone_netkit::frames::{announcement, of_type, ANNOUNCEMENT};
use pinecone_netkit::keys::signing_key;

const A: usize = 8; // a stronger key: the root
const B: usize = 6; // stronger than us, weaker than A
const W: usize = 2; // weaker than us

/// An announcement with `entries` entries, rooted at a stranger and signed
/// last by `last`, the peer sending it.
fn chain_of(entries: usize, last: &SigningKey) -> Vec<u8> {
    let strangers: Vec<SigningKey> = (0..entries - 1).map(|i| signing_key(5, i)).collect();
    let chain: Vec<(&SigningKey, u64)> = strangers.iter().chain([last]).zip(1..).collect();
    announcement(1, &chain)
}

/// `frame` with a bit of its first entry's signature flipped (header,
/// payload length, root key, sequence and hop, signer key come first).
fn first_signature_broken(mut frame: Vec<u8>) -> Vec<u8> {
    frame[10 + 2 + 32 + 1 + 1 + 32 + 5] ^= 1;
    frame
}

fn removal_of(solo: &mut Solo, port: Port) -> Option<RemovalReason> {
    solo.events().into_iter().find_map(|e| match e {
        Event::PeerRemoved {
            port: p, reason, ..
        } if p == port => Some(reason),
        _ => None,
    })
}

#[test]
fn an_announcement_past_the_default_cap_closes_the_peering() {
    let mut solo = Solo::quiet();
    let a = solo.add(A);
    let b = solo.add(B);
    let too_long = chain_of(129, &solo.keys[A]);
    let error = PeerError::BadAnnouncement(AnnouncementError::TooManyEntries {
        entries: 129,
        limit: 128,
    });
    assert_eq!(solo.feed(a, &too_long), Err(error));
    assert_eq!(removal_of(&mut solo, a), Some(RemovalReason::Error(error)));
    // At the cap it is checked and kept as usual.
    assert_eq!(solo.feed(b, &chain_of(128, &solo.keys[B])), Ok(()));
    assert_eq!(solo.router.peers().len(), 1);
    assert_eq!(
        solo.router.peers()[0]
            .coords
            .as_ref()
            .map(|c| c.ports().len()),
        Some(127)
    );
}

#[test]
fn the_cap_is_checked_before_any_signature() {
    let mut solo = Solo::new(RouterConfig {
        keepalives: false,
        wakeup_broadcasts: false,
        max_announcement_entries: 4,
        ..RouterConfig::default()
    });
    let a = solo.add(A);
    let b = solo.add(B);
    // Past the cap, with a bad first signature: refused for its length.
    let long = first_signature_broken(chain_of(5, &solo.keys[A]));
    assert_eq!(
        solo.feed(a, &long),
        Err(PeerError::BadAnnouncement(
            AnnouncementError::TooManyEntries {
                entries: 5,
                limit: 4
            }
        ))
    );
    // At the cap the signatures are checked.
    let at_cap = first_signature_broken(chain_of(4, &solo.keys[B]));
    assert!(matches!(
        solo.feed(b, &at_cap),
        Err(PeerError::BadAnnouncement(
            AnnouncementError::BadSignature { index: 0, .. }
        ))
    ));
    assert!(solo.router.peers().is_empty());
}

#[test]
fn a_repeated_announcement_is_not_acted_on_again() {
    let mut solo = Solo::quiet();
    let a = solo.add(A);
    let b = solo.add(B);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    // Another path to the same root, and a weaker root.
    let offer = announcement(3, &[(&solo.keys[A], 2), (&solo.keys[B], 5)]);
    let weaker = announcement(1, &[(&solo.keys[W], 4)]);
    solo.feed(b, &offer).unwrap();
    solo.feed(w, &weaker).unwrap();
    solo.out();
    solo.events();
    solo.router.take_table_update();
    let orders =
        |solo: &Solo| -> Vec<Option<u64>> { solo.router.peers().iter().map(|p| p.order).collect() };
    let before = orders(&solo);
    assert_eq!(before, vec![Some(1), Some(2), Some(3)]);

    // From the parent, from a peer on the same root, from a peer on a
    // weaker root: each would have meant a re-parent announced to every
    // peer, a parent selection and table rebuild, or our announcement sent
    // back.
    for _ in 0..3 {
        solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
            .unwrap();
        solo.feed(b, &offer).unwrap();
        solo.feed(w, &weaker).unwrap();
    }
    assert_eq!(solo.router.counters().announcements_repeated, 9);
    assert_eq!(solo.router.parent(), Some(a));
    assert!(solo.out().is_empty(), "nothing sent");
    assert!(solo.events().is_empty());
    assert!(solo.router.take_table_update().is_none(), "no rebuild");
    assert_eq!(orders(&solo), before, "receive orders kept");

    // Anything else from them is handled as before.
    solo.feed(w, &announcement(1, &[(&solo.keys[W], 6)]))
        .unwrap();
    assert_eq!(of_type(&solo.out(), ANNOUNCEMENT).len(), 1);
}

#[test]
fn a_repeated_announcement_still_counts_as_activity() {
    let mut solo = Solo::new(RouterConfig {
        wakeup_broadcasts: false,
        ..RouterConfig::default()
    });
    let a = solo.add(A);
    let frame = announcement(3, &[(&solo.keys[A], 9)]);
    solo.feed(a, &frame).unwrap();
    // A peer is dead after 5 s without receiving anything from it.
    for _ in 0..3 {
        solo.advance(4_000);
        solo.feed(a, &frame).unwrap();
    }
    solo.advance(4_000);
    assert_eq!(solo.router.peers().len(), 1);
    assert_eq!(solo.router.counters().announcements_repeated, 3);
    solo.advance(1_000);
    assert!(solo.router.peers().is_empty());
}
