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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod wire;
