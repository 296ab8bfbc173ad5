//! The protocol core of a Pinecone node.
//!
//! Pinecone is the overlay routing protocol behind peer-to-peer Matrix. Nodes
//! peer over any reliable byte stream, agree on a spanning tree rooted at the
//! highest ed25519 public key, and arrange themselves on a virtual line
//! ordered by key (SNEK). Traffic addressed to a public key is forwarded hop
//! by hop with no up-front route search.
//!
//! This crate is organised in layers, each depending only on the ones before:
//!
//! * [`wire`]: zero-copy frame views, encoders, the handshake and the signed
//!   payloads. Parsing never panics and never allocates for traffic frames.
//! * [`control`]: the sans-IO protocol state machine (spanning tree, SNEK,
//!   wakeup broadcasts, keepalives) and the routing table it publishes.
//! * [`forward`]: the forwarding plane per-core workers run: input split
//!   into frames in place, traffic routed from the published table and
//!   queued per output peering, protocol frames handed to the control plane.
#![forbid(unsafe_code)]

pub mod control;
pub mod forward;
pub mod wire;
