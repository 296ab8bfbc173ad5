//! A routing table built by driving a real `Router` with fake peers, and
//! helpers to play the I/O driver around forwarding workers.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use pinecone_engine::control::{
    Millis, PeerInfo, PeerType, Port, Router, RouterConfig, RoutingTable,
};
use pinecone_engine::forward::{SlotId, Worker};
use pinecone_engine::wire::{frame_length, Coords, PublicKey, TrafficRepr, Watermark};

use crate::frames::{announcement, bootstrap};
use crate::keys::sorted_keys;
use crate::network::EPOCH_MS;

/// The fixture's clock when it is built.
pub const EPOCH: Millis = Millis(EPOCH_MS);

/// A router with fake peers: the strongest key is our parent and root (on
/// the first port), every other peer is our child.
pub struct Fixture {
    /// The router under test.
    pub router: Router,
    /// Its signing key.
    pub own: SigningKey,
    /// The root's signing key (its parent's, on the first port).
    pub root: SigningKey,
    /// Peer keys in port order (the root first).
    pub peers: Vec<SigningKey>,
    /// Ports in the same order.
    pub ports: Vec<Port>,
    /// The router's clock: frames are fed and paths set up at this time.
    pub now: Millis,
}

const ROOT_SEQ: u64 = 7;

impl Fixture {
    /// Us with `peers` fake peers (at least one: the root).
    pub fn new(peers: usize) -> Fixture {
        let mut keys = sorted_keys(peers + 1, 1);
        let root = keys.pop().expect("a root key");
        let own = keys.pop().expect("our key");
        let config = RouterConfig {
            keepalives: false,
            wakeup_broadcasts: false,
            ..RouterConfig::default()
        };
        let router = Router::new(own.clone(), config, EPOCH);
        let mut fixture = Fixture {
            router,
            own,
            root: root.clone(),
            peers: Vec::new(),
            ports: Vec::new(),
            now: EPOCH,
        };
        let root_port = fixture.attach(root.clone());
        let frame = announcement(ROOT_SEQ, &[(&root, 9)]);
        fixture.feed(root_port, &frame);
        for child in keys {
            let port = fixture.attach(child.clone());
            let frame = announcement(
                ROOT_SEQ,
                &[(&fixture.root, 9), (&fixture.own, port), (&child, 1)],
            );
            fixture.feed(port, &frame);
        }
        fixture.drain();
        fixture
    }

    fn attach(&mut self, key: SigningKey) -> Port {
        let info = PeerInfo {
            key: PublicKey::of(&key),
            peer_type: PeerType::Remote,
            zone: String::new(),
            uri: String::new(),
        };
        let port = self.router.add_peer(info, self.now);
        self.peers.push(key);
        self.ports.push(port);
        port
    }

    fn feed(&mut self, port: Port, frame: &[u8]) {
        self.router
            .handle_frame(port, frame, self.now)
            .expect("the fixture's frames are valid");
    }

    /// Drops everything the router queued.
    pub fn drain(&mut self) {
        while self.router.poll_transmit().is_some() {}
        while self.router.poll_event().is_some() {}
    }

    /// The router's public key.
    pub fn own_key(&self) -> PublicKey {
        PublicKey::of(&self.own)
    }

    /// The public key of the peer on `ports[index]`.
    pub fn peer_key(&self, index: usize) -> PublicKey {
        PublicKey::of(&self.peers[index])
    }

    /// Sets up a SNEK path to `key` through `port` (as a bootstrap from it
    /// arriving there would), returning the path's watermark.
    pub fn add_path(&mut self, key: &SigningKey, port: Port) -> Watermark {
        let root = (PublicKey::of(&self.root), ROOT_SEQ);
        let frame = bootstrap(key, self.now.0, root, Watermark::FRESH);
        self.feed(port, &frame);
        self.drain();
        let entry = self
            .router
            .routing_table()
            .path(&PublicKey::of(key))
            .copied()
            .expect("the bootstrap set up a path");
        assert_eq!(entry.source, port);
        entry.watermark()
    }

    /// The router's routing table as it stands.
    pub fn table(&mut self) -> Arc<RoutingTable> {
        self.router.routing_table()
    }
}

/// A SNEK-routed traffic frame to `dest` carrying `watermark`.
pub fn snek_traffic(
    dest: PublicKey,
    src: PublicKey,
    watermark: Watermark,
    payload: &[u8],
) -> Vec<u8> {
    let repr = TrafficRepr {
        hop_limit: 10,
        dest_coords: Coords::ROOT,
        src_coords: Coords(vec![4, 2]),
        dest_key: dest,
        src_key: src,
        watermark,
        payload,
    };
    let mut out = vec![0; repr.encoded_len()];
    repr.emit(&mut out).unwrap();
    out
}

/// Plays the socket: copies `bytes` into the slot's input buffer.
pub fn feed(worker: &mut Worker, slot: SlotId, bytes: &[u8]) {
    let space = worker.read_buffer(slot);
    assert!(space.len() >= bytes.len(), "input buffer full");
    space[..bytes.len()].copy_from_slice(bytes);
    worker.filled(slot, bytes.len());
}

/// Plays the socket: writes everything the slot has queued.
pub fn drain_output(worker: &mut Worker, slot: SlotId, now: Millis) -> Vec<u8> {
    let bytes = worker.output(slot).parts().concat();
    worker.written(slot, bytes.len(), now);
    bytes
}

/// Splits a byte stream into frames.
pub fn split_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while let Some(len) = frame_length(bytes).expect("a well-formed stream") {
        frames.push(bytes[..len].to_vec());
        bytes = &bytes[len..];
    }
    assert!(bytes.is_empty(), "a partial frame at the end");
    frames
}
