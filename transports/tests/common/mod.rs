//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use pinecone_engine::wire::{Handshake, HANDSHAKE_LEN};
use pinecone_transports::{Peering, PeeringSink, Transport, TransportConfig};

/// How long a test waits for something that should happen quickly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A deterministic key, distinct per `seed`.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A transport with the default settings.
pub fn transport(seed: u8) -> Transport {
    Transport::new(key(seed), TransportConfig::default())
}

/// A transport with a short handshake timeout.
pub fn impatient_transport(seed: u8, handshake_timeout: Duration) -> Transport {
    let config = TransportConfig {
        handshake_timeout,
        ..TransportConfig::default()
    };
    Transport::new(key(seed), config)
}

/// A sink that forwards peerings to a channel.
pub fn channel_sink() -> (PeeringSink, Receiver<Peering>) {
    let (sender, receiver) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let sink: PeeringSink = Arc::new(move |peering| {
        let _ = sender.lock().unwrap().send(peering);
    });
    (sink, receiver)
}

/// A handshake signed by `signer`, with bytes 0..40 changed by `edit` before
/// signing.
pub fn signed_handshake(signer: &SigningKey, edit: impl FnOnce(&mut [u8])) -> [u8; HANDSHAKE_LEN] {
    let mut bytes = *Handshake::new(signer).as_bytes();
    edit(&mut bytes[..40]);
    let signature = signer.sign(&bytes[..40]).to_bytes();
    bytes[40..].copy_from_slice(&signature);
    bytes
}

/// `len` bytes of a pattern that differs between `seed`s and has no short
/// period, so misordered or dropped chunks are caught.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// Writes `data` on one thread while reading `data.len()` bytes on this
/// one, returning what was read.
pub fn exchange<W, R>(mut writer: W, mut reader: R, data: Vec<u8>) -> Vec<u8>
where
    W: Write + Send + 'static,
    R: Read,
{
    let len = data.len();
    let writing = std::thread::spawn(move || {
        writer.write_all(&data).expect("write");
        writer.flush().expect("flush");
        writer
    });
    let mut received = vec![0u8; len];
    reader.read_exact(&mut received).expect("read");
    drop(writing.join().expect("writer thread"));
    received
}
