//! What a router keeps of each peer's last tree announcement, and how it
//! checks a new one.

use super::key_cache;
use super::time::{Millis, ANNOUNCEMENT_TIMEOUT};
use crate::wire::{Announcement, AnnouncementError, Coords, PublicKey};

/// A tree root: its key and the sequence it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Root {
    /// The root's public key.
    pub key: PublicKey,
    /// The root's announcement sequence.
    pub seq: u64,
}

/// A checked announcement received from a peer.
#[derive(Debug, Clone)]
pub(crate) struct StoredAnnouncement {
    /// The payload as received, to extend when forwarding it.
    pub(crate) payload: Box<[u8]>,
    pub(crate) root: Root,
    /// The signers, root first; the last one is the peer.
    pub(crate) signers: Vec<PublicKey>,
    /// The hops of all entries: our coordinates if this peer is our parent.
    pub(crate) coords: Coords,
    pub(crate) received_at: Millis,
    /// Position in the order announcements were received (lower: earlier).
    pub(crate) order: u64,
}

impl StoredAnnouncement {
    /// Keeps a checked announcement.
    pub(crate) fn new(ann: &Announcement<'_>, received_at: Millis, order: u64) -> Self {
        StoredAnnouncement {
            payload: ann.as_bytes().into(),
            root: Root {
                key: ann.root(),
                seq: ann.root_seq(),
            },
            signers: ann.entries().map(|e| e.signer).collect(),
            coords: ann.coords(),
            received_at,
            order,
        }
    }

    /// The sending peer's own coordinates.
    pub(crate) fn peer_coords(&self) -> &[u64] {
        let ports = self.coords.ports();
        &ports[..ports.len().saturating_sub(1)]
    }

    /// Whether `key` signed it: for our own key, the peer is our
    /// descendant and would make a loop as our parent.
    pub(crate) fn has_signer(&self, key: &PublicKey) -> bool {
        self.signers.contains(key)
    }

    /// Whether it is too old to choose its sender as parent.
    pub(crate) fn is_expired(&self, now: Millis) -> bool {
        now.has_elapsed(self.received_at, ANNOUNCEMENT_TIMEOUT)
    }
}

/// Checks an announcement from the direct peer `from`: the tree rules, then
/// every signature.
///
/// `verified` are payloads already checked in full. An entry lying wholly in
/// a byte prefix shared with one of them carries a signature already verified
/// over the very same bytes, so it is not verified again; this makes the
/// common case (the same ancestors as our parent's announcement) cheap.
/// Adds the signatures it verified to `checked`.
pub(crate) fn check_announcement(
    ann: &Announcement<'_>,
    from: &PublicKey,
    verified: &[&[u8]],
    checked: &mut u64,
) -> Result<(), AnnouncementError> {
    ann.sanity_check(from)?;
    let payload = ann.as_bytes();
    let shared = verified
        .iter()
        .map(|known| common_prefix(known, payload))
        .max()
        .unwrap_or(0);
    let mut entries = ann.entries().enumerate().peekable();
    while let Some((index, entry)) = entries.next() {
        let end = entries
            .peek()
            .map_or(payload.len(), |(_, next)| next.signed.len());
        if end <= shared {
            continue;
        }
        *checked += 1;
        if !key_cache::shared().verifies(&entry.signer, entry.signed, entry.signature) {
            return Err(AnnouncementError::BadSignature {
                index,
                hop: entry.hop,
            });
        }
    }
    Ok(())
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::AnnouncementRepr;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// root → a → b, as b would send it to its peer on port 4.
    fn chain() -> (Vec<u8>, PublicKey) {
        let (root, a, b) = (key(1), key(2), key(3));
        let mut repr = AnnouncementRepr::new_root(PublicKey::of(&root), 7);
        repr.sign_and_append(1, &root).unwrap();
        repr.sign_and_append(2, &a).unwrap();
        repr.sign_and_append(4, &b).unwrap();
        let mut buf = vec![0; repr.encoded_len()];
        repr.emit(&mut buf).unwrap();
        (buf, PublicKey::of(&b))
    }

    #[test]
    fn valid_announcement_passes_with_or_without_shared_prefix() {
        let (payload, from) = chain();
        let ann = Announcement::parse(&payload).unwrap();
        let mut checked = 0;
        assert_eq!(check_announcement(&ann, &from, &[], &mut checked), Ok(()));
        assert_eq!(checked, 3, "every entry verified");
        assert_eq!(
            check_announcement(&ann, &from, &[&payload], &mut checked),
            Ok(())
        );
        assert_eq!(checked, 3, "nothing verified twice");
    }

    #[test]
    fn bad_signature_outside_the_shared_prefix_is_caught() {
        let (good, from) = chain();
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let ann = Announcement::parse(&bad).unwrap();
        // Everything but the last signature is shared with a verified payload.
        assert_eq!(
            check_announcement(&ann, &from, &[&good], &mut 0),
            Err(AnnouncementError::BadSignature { index: 2, hop: 4 })
        );
    }

    #[test]
    fn bad_signature_inside_a_prefix_of_an_unverified_payload_is_caught() {
        let (good, from) = chain();
        let mut bad = good.clone();
        bad[70] ^= 1; // inside the first entry's signature (bytes 66..130)
        let ann = Announcement::parse(&bad).unwrap();
        assert!(matches!(
            check_announcement(&ann, &from, &[&bad[..70]], &mut 0),
            Err(AnnouncementError::BadSignature { index: 0, .. })
        ));
    }

    #[test]
    fn tree_rules_are_checked() {
        let (payload, _) = chain();
        let ann = Announcement::parse(&payload).unwrap();
        assert_eq!(
            check_announcement(&ann, &PublicKey([9; 32]), &[&payload], &mut 0),
            Err(AnnouncementError::LastSignerNotPeer)
        );
    }

    #[test]
    fn stored_announcement_keeps_coords_and_signers() {
        let (payload, from) = chain();
        let ann = Announcement::parse(&payload).unwrap();
        let stored = StoredAnnouncement::new(&ann, Millis(5), 3);
        assert_eq!(stored.coords, Coords(vec![1, 2, 4]));
        assert_eq!(stored.peer_coords(), &[1, 2]);
        assert_eq!(stored.signers.last(), Some(&from));
        assert!(stored.has_signer(&PublicKey::of(&key(2))));
        assert!(!stored.has_signer(&PublicKey([9; 32])));
        assert!(!stored.is_expired(Millis(5)));
        assert!(stored.is_expired(Millis(5).saturating_add(ANNOUNCEMENT_TIMEOUT)));
    }
}
