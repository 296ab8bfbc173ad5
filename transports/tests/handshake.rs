//! The handshake exchange: every refusal reason and the deadline.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{key, signed_handshake, transport};
use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{
    Handshake, HandshakeError, PublicKey, CAPABILITIES, HANDSHAKE_LEN, PROTOCOL_VERSION,
};
use pinecone_transports::{
    exchange_handshake, DialError, HandshakeFailure, PeerUri, DEFAULT_HANDSHAKE_TIMEOUT,
};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs our side of the handshake against a peer that sends `theirs` and
/// reads whatever we send. Returns our outcome and the bytes the peer got.
fn against_peer(
    ours: &SigningKey,
    theirs: Vec<u8>,
) -> (Result<PublicKey, HandshakeFailure>, Vec<u8>) {
    let (mut local, mut remote) = UnixStream::pair().unwrap();
    let peer = thread::spawn(move || {
        remote.write_all(&theirs).unwrap();
        let mut received = vec![0u8; HANDSHAKE_LEN];
        remote.read_exact(&mut received).unwrap();
        received
    });
    let result = exchange_handshake(&mut local, ours, TIMEOUT);
    (result, peer.join().unwrap())
}

#[test]
fn accepts_a_valid_handshake_and_sends_ours() {
    let (ours, theirs) = (key(1), key(2));
    let (result, sent) = against_peer(&ours, Handshake::new(&theirs).as_bytes().to_vec());
    assert_eq!(result.unwrap(), PublicKey::of(&theirs));
    let sent = Handshake::from_bytes(&sent).unwrap();
    assert_eq!(
        sent.verify(&PublicKey::of(&theirs)),
        Ok(PublicKey::of(&ours))
    );
}

#[test]
fn refuses_a_bad_signature() {
    let mut bytes = *Handshake::new(&key(2)).as_bytes();
    bytes[HANDSHAKE_LEN - 1] ^= 0x01;
    let (result, _) = against_peer(&key(1), bytes.to_vec());
    assert!(matches!(
        result,
        Err(HandshakeFailure::Refused(HandshakeError::BadSignature))
    ));
}

#[test]
fn refuses_a_key_substituted_under_a_valid_signature() {
    let mut bytes = *Handshake::new(&key(2)).as_bytes();
    bytes[8..40].copy_from_slice(PublicKey::of(&key(3)).as_bytes());
    let (result, _) = against_peer(&key(1), bytes.to_vec());
    assert!(matches!(
        result,
        Err(HandshakeFailure::Refused(HandshakeError::BadSignature))
    ));
}

#[test]
fn refuses_another_version() {
    let bytes = signed_handshake(&key(2), |signed| signed[0] = PROTOCOL_VERSION + 1);
    let (result, _) = against_peer(&key(1), bytes.to_vec());
    match result {
        Err(HandshakeFailure::Refused(HandshakeError::VersionMismatch { ours, theirs })) => {
            assert_eq!((ours, theirs), (PROTOCOL_VERSION, PROTOCOL_VERSION + 1));
        }
        other => panic!("expected a version mismatch, got {other:?}"),
    }
}

#[test]
fn refuses_other_capabilities() {
    let bytes = signed_handshake(&key(2), |signed| {
        signed[4..8].copy_from_slice(&(CAPABILITIES | 0x40).to_be_bytes());
    });
    let (result, _) = against_peer(&key(1), bytes.to_vec());
    match result {
        Err(HandshakeFailure::Refused(HandshakeError::CapabilityMismatch { ours, theirs })) => {
            assert_eq!((ours, theirs), (CAPABILITIES, CAPABILITIES | 0x40));
        }
        other => panic!("expected a capability mismatch, got {other:?}"),
    }
}

#[test]
fn refuses_our_own_key() {
    let ours = key(1);
    let (result, _) = against_peer(&ours, Handshake::new(&ours).as_bytes().to_vec());
    assert!(matches!(
        result,
        Err(HandshakeFailure::Refused(HandshakeError::OwnKey))
    ));
}

#[test]
fn a_peer_closing_early_is_reported_as_closed() {
    let (mut local, mut remote) = UnixStream::pair().unwrap();
    remote.write_all(&[1, 0, 0, 0]).unwrap();
    remote.shutdown(Shutdown::Write).unwrap();
    let result = exchange_handshake(&mut local, &key(1), TIMEOUT);
    assert!(
        matches!(result, Err(HandshakeFailure::Closed)),
        "{result:?}"
    );
}

#[test]
fn a_silent_peer_times_out_at_the_deadline() {
    let (mut local, _remote) = UnixStream::pair().unwrap();
    let timeout = Duration::from_millis(200);
    let start = Instant::now();
    let result = exchange_handshake(&mut local, &key(1), timeout);
    let elapsed = start.elapsed();
    assert!(
        matches!(result, Err(HandshakeFailure::Timeout(t)) if t == timeout),
        "{result:?}"
    );
    assert!(elapsed >= timeout, "gave up early, after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "gave up late, after {elapsed:?}"
    );
}

#[test]
fn the_deadline_covers_the_whole_exchange_not_each_read() {
    // A peer trickling one byte every 50 ms would need 5 s for a whole
    // handshake: the 300 ms deadline must cut it off.
    let (mut local, mut remote) = UnixStream::pair().unwrap();
    let bytes = *Handshake::new(&key(2)).as_bytes();
    let trickle = thread::spawn(move || {
        for byte in bytes {
            if remote.write_all(&[byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let start = Instant::now();
    let result = exchange_handshake(&mut local, &key(1), Duration::from_millis(300));
    assert!(
        matches!(result, Err(HandshakeFailure::Timeout(_))),
        "{result:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(local);
    trickle.join().unwrap();
}

#[test]
fn the_default_deadline_is_ten_seconds() {
    assert_eq!(DEFAULT_HANDSHAKE_TIMEOUT, Duration::from_secs(10));
}

#[test]
fn dialling_a_peer_with_a_bad_signature_fails_with_that_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut bytes = *Handshake::new(&key(2)).as_bytes();
        bytes[50] ^= 0x80;
        stream.write_all(&bytes).unwrap();
        let mut received = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut received).unwrap();
    });
    let uri: PeerUri = address.to_string().parse().unwrap();
    let result = transport(1).dial(&uri, "");
    assert!(
        matches!(
            result,
            Err(DialError::Handshake(HandshakeFailure::Refused(
                HandshakeError::BadSignature
            )))
        ),
        "{result:?}"
    );
    peer.join().unwrap();
}
