//! The signed payload shared by bootstraps and wakeup broadcasts:
//! sequence (varu64), root key (32), root sequence (varu64), signature (64).
//!
//! The signature covers the first three fields. For a bootstrap the signer is
//! the frame's destination key (the node bootstrapping); for a broadcast it
//! is the frame's source key.

use ed25519_dalek::SigningKey;

use super::cursor::{Reader, Writer};
use super::error::{EncodeError, Field, ParseError};
use super::key::{sign, PublicKey, SIGNATURE_LEN};
use super::varu64;

/// The shortest possible payload: one-byte sequences.
pub const ROOT_PAYLOAD_MIN_LEN: usize = 1 + 32 + 1 + SIGNATURE_LEN;

/// A checked view of a bootstrap or broadcast payload.
#[derive(Debug, Clone, Copy)]
pub struct RootPayload<'a> {
    protected: &'a [u8],
    sequence: u64,
    root: PublicKey,
    root_seq: u64,
    signature: &'a [u8; SIGNATURE_LEN],
}

impl<'a> RootPayload<'a> {
    /// Parses a payload that fills all of `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<RootPayload<'a>, ParseError> {
        let mut r = Reader::new(buf);
        let sequence = r.varu64(Field::Sequence)?;
        let root = r.key(Field::RootKey)?;
        let root_seq = r.varu64(Field::RootSequence)?;
        let protected = buf.get(..r.pos()).unwrap_or_default();
        let signature = r.array::<SIGNATURE_LEN>(Field::Signature)?;
        r.finish()?;
        Ok(RootPayload {
            protected,
            sequence,
            root,
            root_seq,
            signature,
        })
    }

    /// The sender's clock in Unix milliseconds when it was signed.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The root key the sender followed.
    pub fn root(&self) -> PublicKey {
        self.root
    }

    /// The root sequence the sender followed.
    pub fn root_seq(&self) -> u64 {
        self.root_seq
    }

    /// The signed bytes: sequence, root key and root sequence.
    pub fn protected(&self) -> &'a [u8] {
        self.protected
    }

    /// The signature bytes.
    pub fn signature(&self) -> &'a [u8; SIGNATURE_LEN] {
        self.signature
    }

    /// Whether `signer` signed this payload.
    pub fn verify(&self, signer: &PublicKey) -> bool {
        signer.verifies(self.protected, self.signature)
    }

    /// The decoded fields.
    pub fn to_repr(&self) -> RootPayloadRepr {
        RootPayloadRepr {
            sequence: self.sequence,
            root: self.root,
            root_seq: self.root_seq,
        }
    }
}

/// The fields of a bootstrap or broadcast payload, before signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootPayloadRepr {
    /// The sender's clock in Unix milliseconds.
    pub sequence: u64,
    /// The root key the sender follows.
    pub root: PublicKey,
    /// The root sequence the sender follows.
    pub root_seq: u64,
}

impl RootPayloadRepr {
    /// Length of the signed payload.
    pub fn encoded_len(&self) -> usize {
        varu64::encoded_len(self.sequence) + 32 + varu64::encoded_len(self.root_seq) + SIGNATURE_LEN
    }

    /// Writes the payload signed by `signer` into `out`, returning its length.
    pub fn emit_signed(&self, signer: &SigningKey, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::with_capacity(out, self.encoded_len())?;
        w.varu64(self.sequence)?;
        w.put(self.root.as_bytes())?;
        w.varu64(self.root_seq)?;
        let signature = sign(signer, w.written());
        w.put(&signature)?;
        Ok(w.pos())
    }
}
