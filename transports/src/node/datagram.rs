//! What the application receives.

use pinecone_engine::wire::PublicKey;

/// A datagram addressed to this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The sender's key.
    pub source: PublicKey,
    /// The payload.
    pub payload: Vec<u8>,
}
