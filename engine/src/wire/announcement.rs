//! Spanning-tree announcements.
//!
//! Payload: root key (32), root sequence (varu64), then signature entries of
//! hop (varu64), signer key (32), signature (64). Entry *i*'s signature is by
//! its signer over every payload byte before entry *i*. A node sending its
//! announcement to the peer on port *p* appends an entry `{p, own key, own
//! signature}`, so the hops of all entries are the coordinates the receiver
//! takes if it picks the sender as its parent.

use ed25519_dalek::SigningKey;

use super::coords::Coords;
use super::cursor::{u16_len, Reader, Writer};
use super::error::{AnnouncementError, EncodeError, Field, ParseError};
use super::header::{start_frame, FrameType, Header, HEADER_LEN};
use super::key::{sign, PublicKey, SIGNATURE_LEN};
use super::varu64;

/// A checked view of a tree announcement frame; its payload is parsed with
/// [`Announcement::parse`].
#[derive(Debug, Clone, Copy)]
pub struct AnnouncementFrame<'a> {
    header: Header,
    payload: &'a [u8],
}

impl<'a> AnnouncementFrame<'a> {
    pub(crate) fn read_body(header: Header, r: &mut Reader<'a>) -> Result<Self, ParseError> {
        let payload_len = r.u16(Field::PayloadLength)?;
        let payload = r.take(usize::from(payload_len), Field::Payload)?;
        Ok(AnnouncementFrame { header, payload })
    }

    /// The frame header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The announcement payload bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The decoded fields, to re-encode the frame exactly.
    pub fn to_repr(&self) -> AnnouncementFrameRepr<'a> {
        AnnouncementFrameRepr {
            hop_limit: self.header.hop_limit,
            payload: self.payload,
        }
    }

    /// Length of a frame carrying a payload of `payload_len` bytes.
    pub fn encoded_len(payload_len: usize) -> usize {
        HEADER_LEN + 2 + payload_len
    }

    /// Writes a tree announcement frame carrying `payload` into `out`,
    /// returning its length. Its hop limit is 0, as every node sends it.
    pub fn emit(payload: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
        AnnouncementFrameRepr {
            hop_limit: 0,
            payload,
        }
        .emit(out)
    }
}

/// The fields of a tree announcement frame, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnouncementFrameRepr<'a> {
    /// Hop limit byte (0 in announcements nodes send).
    pub hop_limit: u8,
    /// The announcement payload bytes.
    pub payload: &'a [u8],
}

impl AnnouncementFrameRepr<'_> {
    /// Writes the frame into `out`, returning its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let payload_len = u16_len(self.payload.len(), Field::Payload)?;
        let total = AnnouncementFrame::encoded_len(self.payload.len());
        let mut w = start_frame(out, FrameType::TreeAnnouncement, self.hop_limit, total)?;
        w.u16(payload_len)?;
        w.put(self.payload)?;
        Ok(w.pos())
    }
}

/// One signature entry of an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureEntry<'a> {
    /// The port the signer sent the announcement out of.
    pub hop: u64,
    /// The signer's key.
    pub signer: PublicKey,
    /// The signer's signature over [`signed`](Self::signed).
    pub signature: &'a [u8; SIGNATURE_LEN],
    /// The payload bytes before this entry, which the signature covers.
    pub signed: &'a [u8],
}

impl SignatureEntry<'_> {
    /// Whether the signature verifies.
    pub fn verify(&self) -> bool {
        self.signer.verifies(self.signed, self.signature)
    }
}

/// A checked view of an announcement payload. Parsing checks the encoding
/// only; [`check`](Self::check) verifies signatures and the tree rules.
#[derive(Debug, Clone, Copy)]
pub struct Announcement<'a> {
    buf: &'a [u8],
    root: PublicKey,
    root_seq: u64,
    entries_start: usize,
    count: usize,
}

impl<'a> Announcement<'a> {
    /// Parses an announcement payload that fills all of `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<Announcement<'a>, ParseError> {
        let mut r = Reader::new(buf);
        let root = r.key(Field::RootKey)?;
        let root_seq = r.varu64(Field::RootSequence)?;
        let entries_start = r.pos();
        let mut count = 0;
        while !r.remaining().is_empty() {
            r.varu64(Field::Hop)?;
            r.take(32, Field::SignerKey)?;
            r.take(SIGNATURE_LEN, Field::Signature)?;
            count += 1;
        }
        Ok(Announcement {
            buf,
            root,
            root_seq,
            entries_start,
            count,
        })
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The root key.
    pub fn root(&self) -> PublicKey {
        self.root
    }

    /// The root's sequence number.
    pub fn root_seq(&self) -> u64 {
        self.root_seq
    }

    /// Number of signature entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no signature entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The signature entries, root first.
    pub fn entries(&self) -> EntryIter<'a> {
        EntryIter {
            buf: self.buf,
            pos: self.entries_start,
        }
    }

    /// Verifies every signature, in order.
    pub fn verify_signatures(&self) -> Result<(), AnnouncementError> {
        for (index, entry) in self.entries().enumerate() {
            if !entry.verify() {
                return Err(AnnouncementError::BadSignature {
                    index,
                    hop: entry.hop,
                });
            }
        }
        Ok(())
    }

    /// Checks the tree rules for an announcement received from the direct
    /// peer `from`: at least one entry, the first signer is the root, no hop
    /// is 0, the last signer is `from`, no signer appears twice. Entries are
    /// checked in order, so the first broken rule is the one reported.
    pub fn sanity_check(&self, from: &PublicKey) -> Result<(), AnnouncementError> {
        if self.is_empty() {
            return Err(AnnouncementError::NoSignatures);
        }
        let last = self.count - 1;
        for (index, entry) in self.entries().enumerate() {
            if index == 0 && entry.signer != self.root {
                return Err(AnnouncementError::FirstSignerNotRoot);
            }
            if entry.hop == 0 {
                return Err(AnnouncementError::ZeroHop);
            }
            if index == last && entry.signer != *from {
                return Err(AnnouncementError::LastSignerNotPeer);
            }
            if self.entries().take(index).any(|e| e.signer == entry.signer) {
                return Err(AnnouncementError::RoutingLoop);
            }
        }
        Ok(())
    }

    /// Everything a receiver checks: signatures, then the tree rules.
    pub fn check(&self, from: &PublicKey) -> Result<(), AnnouncementError> {
        self.verify_signatures()?;
        self.sanity_check(from)
    }

    /// The hops of all entries: the coordinates the receiver takes if the
    /// sender becomes its parent.
    pub fn coords(&self) -> Coords {
        Coords(self.entries().map(|e| e.hop).collect())
    }

    /// The sender's own coordinates: [`coords`](Self::coords) without the
    /// last hop.
    pub fn peer_coords(&self) -> Coords {
        let keep = self.count.saturating_sub(1);
        Coords(self.entries().take(keep).map(|e| e.hop).collect())
    }

    /// Whether `key` signed any entry.
    pub fn has_signer(&self, key: &PublicKey) -> bool {
        self.entries().any(|e| e.signer == *key)
    }

    /// Length of this payload with one more entry for `hop`.
    pub fn appended_len(&self, hop: u64) -> usize {
        self.buf.len() + entry_len(hop)
    }

    /// Writes this payload followed by a new entry `{hop, signer's key,
    /// signature}` into `out`, returning the new payload's length. This is
    /// how a node forwards its root announcement to the peer on port `hop`.
    pub fn emit_appended(
        &self,
        hop: u64,
        signer: &SigningKey,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let mut w = Writer::with_capacity(out, self.appended_len(hop))?;
        w.put(self.buf)?;
        append_entry(&mut w, hop, signer)?;
        Ok(w.pos())
    }

    /// The decoded fields.
    pub fn to_repr(&self) -> AnnouncementRepr {
        AnnouncementRepr {
            root: self.root,
            root_seq: self.root_seq,
            entries: self
                .entries()
                .map(|e| SignatureEntryRepr {
                    hop: e.hop,
                    signer: e.signer,
                    signature: *e.signature,
                })
                .collect(),
        }
    }
}

/// Iterator over the entries of an [`Announcement`].
#[derive(Clone)]
pub struct EntryIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = SignatureEntry<'a>;

    fn next(&mut self) -> Option<SignatureEntry<'a>> {
        // The announcement was validated, so reading cannot fail; a failure
        // would end the iteration rather than panic.
        let signed = self.buf.get(..self.pos)?;
        let mut r = Reader::new(self.buf.get(self.pos..)?);
        let hop = r.varu64(Field::Hop).ok()?;
        let signer = r.key(Field::SignerKey).ok()?;
        let signature = r.array::<SIGNATURE_LEN>(Field::Signature).ok()?;
        self.pos += r.pos();
        Some(SignatureEntry {
            hop,
            signer,
            signature,
            signed,
        })
    }
}

fn entry_len(hop: u64) -> usize {
    varu64::encoded_len(hop) + 32 + SIGNATURE_LEN
}

/// Signs everything written so far and appends the entry.
fn append_entry(w: &mut Writer<'_>, hop: u64, signer: &SigningKey) -> Result<(), EncodeError> {
    let signature = sign(signer, w.written());
    w.varu64(hop)?;
    w.put(PublicKey::of(signer).as_bytes())?;
    w.put(&signature)
}

/// An owned signature entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureEntryRepr {
    /// The port the signer sent the announcement out of.
    pub hop: u64,
    /// The signer's key.
    pub signer: PublicKey,
    /// The signature.
    pub signature: [u8; SIGNATURE_LEN],
}

/// The fields of an announcement, for building one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementRepr {
    /// The root key.
    pub root: PublicKey,
    /// The root's sequence number.
    pub root_seq: u64,
    /// Signature entries, root first.
    pub entries: Vec<SignatureEntryRepr>,
}

impl AnnouncementRepr {
    /// A self-rooted announcement with no entries yet.
    pub fn new_root(root: PublicKey, root_seq: u64) -> AnnouncementRepr {
        AnnouncementRepr {
            root,
            root_seq,
            entries: Vec::new(),
        }
    }

    /// Length of the encoded payload.
    pub fn encoded_len(&self) -> usize {
        32 + varu64::encoded_len(self.root_seq)
            + self.entries.iter().map(|e| entry_len(e.hop)).sum::<usize>()
    }

    /// Writes the payload into `out`, returning its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::with_capacity(out, self.encoded_len())?;
        self.write(&mut w)?;
        Ok(w.pos())
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.put(self.root.as_bytes())?;
        w.varu64(self.root_seq)?;
        for entry in &self.entries {
            w.varu64(entry.hop)?;
            w.put(entry.signer.as_bytes())?;
            w.put(&entry.signature)?;
        }
        Ok(())
    }

    /// Appends an entry for `hop` signed by `signer` over the current
    /// payload.
    pub fn sign_and_append(&mut self, hop: u64, signer: &SigningKey) -> Result<(), EncodeError> {
        let len = self.encoded_len();
        let max = usize::from(u16::MAX);
        if len + entry_len(hop) > max {
            return Err(EncodeError::TooLarge {
                field: Field::Payload,
                len: len + entry_len(hop),
            });
        }
        let mut buf = vec![0u8; len];
        self.emit(&mut buf)?;
        self.entries.push(SignatureEntryRepr {
            hop,
            signer: PublicKey::of(signer),
            signature: sign(signer, &buf),
        });
        Ok(())
    }
}
