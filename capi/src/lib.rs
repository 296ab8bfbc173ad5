//! The C ABI of a Pinecone node.
//!
//! C programs, and Go programs through cgo, embed a node through the
//! functions below and the header `include/pinecone.h` generated from them.
//! A node is an opaque `pinecone_node` handle made by [`pinecone_node_new`]
//! and released by [`pinecone_node_free`].
//!
//! Conventions every function keeps:
//!
//! * Any function may be called from any thread, at the same time as any
//!   other; a receiver blocked in [`pinecone_node_recv`] never holds up a
//!   sender.
//! * Functions returning `int` answer 0 on success and -1 on failure;
//!   [`pinecone_node_recv`] also answers -2 when it timed out. A function
//!   returning a pointer answers NULL on failure. After a failure,
//!   [`pinecone_last_error`] describes it on the failing thread.
//! * NULL or malformed arguments are failures, never crashes, and no Rust
//!   panic crosses into the caller: it becomes a failure too.
//! * Keys are 32-byte ed25519 public keys; seeds are 32-byte ed25519 seeds.

mod boundary;
mod datagrams;
mod error;
mod handle;
mod lifecycle;
mod peerings;

pub use datagrams::{pinecone_node_recv, pinecone_node_send, PINECONE_TIMED_OUT};
pub use error::pinecone_last_error;
pub use handle::PineconeNode;
pub use lifecycle::{
    pinecone_node_free, pinecone_node_new, pinecone_node_public_key, pinecone_version,
};
pub use peerings::{pinecone_node_connect, pinecone_node_listen_tcp, pinecone_node_peer_count};
