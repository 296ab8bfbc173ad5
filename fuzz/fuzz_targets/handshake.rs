//! Peering handshakes.
//!
//! The first 32 input bytes (zero-padded) are the seed of "our" signing key.
//! The handshake that key makes always verifies, giving that key. The whole input, taken as a peer's handshake, never
//! panics `from_bytes` or `verify`; it is accepted only at exactly 104 bytes,
//! its accessors read its bytes, and every verdict is borne out by them.

#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use pinecone_engine::wire::{
    Handshake, HandshakeError, PublicKey, CAPABILITIES, HANDSHAKE_LEN, PROTOCOL_VERSION,
};

fuzz_target!(|data: &[u8]| {
    let mut seed = [0u8; 32];
    let seed_len = data.len().min(32);
    seed[..seed_len].copy_from_slice(&data[..seed_len]);
    let our_key = check_own_handshake(&SigningKey::from_bytes(&seed));
    check_peer_handshake(data, &our_key);
});

/// Builds the handshake of `signer` and checks that it verifies; returns the
/// signer's public key.
fn check_own_handshake(signer: &SigningKey) -> PublicKey {
    let key = PublicKey::of(signer);
    let handshake = Handshake::new(signer);
    assert_eq!(handshake.version(), PROTOCOL_VERSION);
    assert_eq!(handshake.capabilities(), CAPABILITIES);
    assert_eq!(handshake.public_key(), key);
    assert_eq!(Handshake::from_bytes(handshake.as_bytes()), Ok(handshake));
    // All-ones is not the public key of any seed a fuzzer will find, so it
    // stands for a peer's own key that differs from the handshake's.
    assert_eq!(handshake.verify(&PublicKey::FULL_MASK), Ok(key));
    key
}

fn check_peer_handshake(data: &[u8], our_key: &PublicKey) {
    let handshake = match Handshake::from_bytes(data) {
        Ok(handshake) => handshake,
        Err(error) => {
            assert_eq!(
                error,
                HandshakeError::WrongLength {
                    expected: HANDSHAKE_LEN,
                    actual: data.len()
                }
            );
            assert_ne!(data.len(), HANDSHAKE_LEN);
            return;
        }
    };
    assert_eq!(handshake.as_bytes(), data);
    assert_eq!(handshake.version(), data[0]);
    let capabilities = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    assert_eq!(handshake.capabilities(), capabilities);
    assert_eq!(handshake.public_key().as_bytes(), &data[8..40]);
    assert!(!format!("{handshake:?}").is_empty());
    let wanted_header = data[0] == PROTOCOL_VERSION && capabilities == CAPABILITIES;
    match handshake.verify(our_key) {
        Ok(key) => {
            assert!(wanted_header);
            assert_eq!(key, handshake.public_key());
            assert_ne!(&key, our_key);
        }
        Err(HandshakeError::VersionMismatch { ours, theirs }) => {
            assert_eq!((ours, theirs), (PROTOCOL_VERSION, data[0]));
        }
        Err(HandshakeError::CapabilityMismatch { ours, theirs }) => {
            assert_eq!(data[0], PROTOCOL_VERSION);
            assert_eq!((ours, theirs), (CAPABILITIES, capabilities));
        }
        Err(HandshakeError::BadSignature) => assert!(wanted_header),
        Err(HandshakeError::OwnKey) => {
            assert!(wanted_header);
            assert_eq!(&handshake.public_key(), our_key);
        }
        Err(error @ HandshakeError::WrongLength { .. }) => {
            panic!("verify gave {error:?} for a 104-byte handshake")
        }
    }
}
