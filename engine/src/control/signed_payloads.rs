//! Signature checks of bootstrap and broadcast payloads, with a process-wide
//! memo of the payloads already verified.
//!
//! A bootstrap is checked at every hop it takes and a wakeup broadcast by
//! every node it reaches, so when many routers share a process (a
//! simulator, several nodes in one program) the same signed bytes are
//! checked over and over. Whether a signature verifies depends only on the
//! signer's key, the signed bytes and the signature, so the memo keeps each
//! payload verified good, keyed by signer and signature, and answers a
//! later check of exactly the same bytes without verifying again. Bad
//! signatures are never remembered: they are verified (and refused) every
//! time, as before.
//!
//! At most [`MEMO_CAPACITY`] payloads are remembered (about 6 MB); a new one
//! at the cap replaces one not used since the clock hand last passed it.

use std::sync::{Arc, OnceLock};

use super::clock_cache::ClockCache;
use super::key_cache;
use crate::wire::{varu64, PublicKey, RootPayload, SIGNATURE_LEN};

/// Most verified payloads the process-wide memo keeps.
pub(crate) const MEMO_CAPACITY: usize = 16_384;

/// The longest signed part of a payload: two varu64 sequences and the root
/// key.
const MAX_PROTECTED_LEN: usize = 2 * varu64::MAX_LEN + 32;

/// A payload whose signature verified against its signer, as raw bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct VerifiedPayload {
    /// The signed bytes: the first `protected_len` of them.
    protected: [u8; MAX_PROTECTED_LEN],
    protected_len: u8,
    signature: [u8; SIGNATURE_LEN],
}

impl VerifiedPayload {
    /// `None` for a signed part too long to be a parsed payload's.
    fn new(signed: &RootPayload<'_>) -> Option<VerifiedPayload> {
        let bytes = signed.protected();
        let mut protected = [0; MAX_PROTECTED_LEN];
        protected.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(VerifiedPayload {
            protected,
            protected_len: u8::try_from(bytes.len()).ok()?,
            signature: *signed.signature(),
        })
    }

    /// Whether `signed` is byte-for-byte this payload.
    pub(crate) fn is(&self, signed: &RootPayload<'_>) -> bool {
        self.signature == *signed.signature()
            && self.protected.get(..usize::from(self.protected_len)) == Some(signed.protected())
    }
}

type Memo = ClockCache<(PublicKey, [u8; SIGNATURE_LEN]), Arc<VerifiedPayload>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| ClockCache::new(MEMO_CAPACITY))
}

/// Checks that `signer` signed `signed`: the verified payload, or `None` if
/// the signature does not verify. Exactly the answer of
/// [`RootPayload::verify`].
pub(crate) fn check(signer: &PublicKey, signed: &RootPayload<'_>) -> Option<Arc<VerifiedPayload>> {
    check_in(memo(), signer, signed)
}

fn check_in(
    memo: &Memo,
    signer: &PublicKey,
    signed: &RootPayload<'_>,
) -> Option<Arc<VerifiedPayload>> {
    let id = (*signer, *signed.signature());
    if let Some(known) = memo.get(&id).filter(|known| known.is(signed)) {
        return Some(known);
    }
    if !key_cache::shared().verifies(signer, signed.protected(), signed.signature()) {
        return None;
    }
    let verified = Arc::new(VerifiedPayload::new(signed)?);
    memo.insert(id, Arc::clone(&verified));
    Some(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::RootPayloadRepr;
    use ed25519_dalek::SigningKey;

    fn payload(signer: &SigningKey, sequence: u64) -> Vec<u8> {
        let repr = RootPayloadRepr {
            sequence,
            root: PublicKey([7; 32]),
            root_seq: 3,
        };
        let mut out = vec![0; repr.encoded_len()];
        repr.emit_signed(signer, &mut out).unwrap();
        out
    }

    #[test]
    fn answers_as_verify_and_remembers_only_good_payloads() {
        let memo = Memo::new(8);
        let signer = SigningKey::from_bytes(&[1; 32]);
        let key = PublicKey::of(&signer);
        let good = payload(&signer, 1_000);
        // Same signature, other signed bytes; and a flipped signature bit.
        let mut other_bytes = good.clone();
        other_bytes[0] ^= 1;
        let mut other_signature = good.clone();
        let last = good.len() - 1;
        other_signature[last] ^= 1;
        for round in 0..2 {
            for bytes in [&good, &other_bytes, &other_signature] {
                let signed = RootPayload::parse(bytes).unwrap();
                let checked = check_in(&memo, &key, &signed);
                assert_eq!(checked.is_some(), signed.verify(&key), "round {round}");
                assert!(checked.is_none_or(|v| v.is(&signed)));
            }
            // Someone else's key never passes.
            let signed = RootPayload::parse(&good).unwrap();
            assert!(check_in(&memo, &PublicKey([9; 32]), &signed).is_none());
        }
        assert_eq!(memo.len(), 1, "only the good payload is remembered");
    }

    #[test]
    fn the_same_bytes_share_one_verified_payload() {
        let memo = Memo::new(8);
        let signer = SigningKey::from_bytes(&[2; 32]);
        let key = PublicKey::of(&signer);
        let bytes = payload(&signer, 5);
        let first = check_in(&memo, &key, &RootPayload::parse(&bytes).unwrap()).unwrap();
        let copy = bytes.clone();
        let second = check_in(&memo, &key, &RootPayload::parse(&copy).unwrap()).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        let newer = payload(&signer, 6);
        let third = check_in(&memo, &key, &RootPayload::parse(&newer).unwrap()).unwrap();
        assert!(!Arc::ptr_eq(&first, &third));
        assert!(!third.is(&RootPayload::parse(&bytes).unwrap()));
    }
}
