//! The peering handshake: 104 bytes each side writes and reads immediately
//! on connect.
//!
//! ```text
//! [0]       version = 1
//! [1..4]    unused (zero)
//! [4..8]    capabilities, u32 big-endian
//! [8..40]   the sender's public key
//! [40..104] ed25519 signature by that key over bytes [0..40]
//! ```

use ed25519_dalek::SigningKey;

use super::error::HandshakeError;
use super::key::{sign, PublicKey, SIGNATURE_LEN};

/// The protocol version this implementation speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// The capabilities this implementation announces, as the reference does.
pub const CAPABILITIES: u32 = 0x3b;
/// Length of a handshake.
pub const HANDSHAKE_LEN: usize = 104;

const SIGNED_LEN: usize = HANDSHAKE_LEN - SIGNATURE_LEN;

/// A handshake as sent or received, not yet verified.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    bytes: [u8; HANDSHAKE_LEN],
}

impl Handshake {
    /// Our handshake, signed by `signer`.
    pub fn new(signer: &SigningKey) -> Handshake {
        let [c0, c1, c2, c3] = CAPABILITIES.to_be_bytes();
        let prefix = [PROTOCOL_VERSION, 0, 0, 0, c0, c1, c2, c3];
        let mut signed = [0u8; SIGNED_LEN];
        copy_into(
            &mut signed,
            prefix.iter().chain(PublicKey::of(signer).as_bytes()),
        );
        let signature = sign(signer, &signed);
        let mut bytes = [0u8; HANDSHAKE_LEN];
        copy_into(&mut bytes, signed.iter().chain(&signature));
        Handshake { bytes }
    }

    /// Takes the bytes a peer sent, which must be exactly 104.
    pub fn from_bytes(bytes: &[u8]) -> Result<Handshake, HandshakeError> {
        let bytes = bytes.try_into().map_err(|_| HandshakeError::WrongLength {
            expected: HANDSHAKE_LEN,
            actual: bytes.len(),
        })?;
        Ok(Handshake { bytes })
    }

    /// The bytes to write to the peer.
    pub fn as_bytes(&self) -> &[u8; HANDSHAKE_LEN] {
        &self.bytes
    }

    /// The protocol version byte.
    pub fn version(&self) -> u8 {
        let [version, ..] = self.bytes;
        version
    }

    /// The capabilities word.
    pub fn capabilities(&self) -> u32 {
        let [_, _, _, _, a, b, c, d, ..] = self.bytes;
        u32::from_be_bytes([a, b, c, d])
    }

    /// The public key the sender presents.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; 32];
        copy_into(&mut key, self.bytes.iter().skip(8));
        PublicKey(key)
    }

    /// Checks a peer's handshake against ours, in the reference's order:
    /// version, capabilities, signature; then refuses our own key. Returns
    /// the peer's public key.
    pub fn verify(&self, our_key: &PublicKey) -> Result<PublicKey, HandshakeError> {
        if self.version() != PROTOCOL_VERSION {
            return Err(HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: self.version(),
            });
        }
        if self.capabilities() != CAPABILITIES {
            return Err(HandshakeError::CapabilityMismatch {
                ours: CAPABILITIES,
                theirs: self.capabilities(),
            });
        }
        let (signed, signature) = self.bytes.split_at(SIGNED_LEN);
        let signature: &[u8; SIGNATURE_LEN] = signature
            .try_into()
            .map_err(|_| HandshakeError::BadSignature)?;
        let key = self.public_key();
        if !key.verifies(signed, signature) {
            return Err(HandshakeError::BadSignature);
        }
        if key == *our_key {
            return Err(HandshakeError::OwnKey);
        }
        Ok(key)
    }
}

/// Fills `dst` from `src`, stopping at whichever ends first.
fn copy_into<'a>(dst: &mut [u8], src: impl Iterator<Item = &'a u8>) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d = *s);
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("version", &self.version())
            .field("capabilities", &self.capabilities())
            .field("public_key", &self.public_key())
            .finish()
    }
}
