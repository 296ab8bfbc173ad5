//! A running Pinecone node: the control thread that owns the
//! [`Router`](pinecone_engine::control::Router), the I/O drivers of the
//! forwarding workers, the transports that bring peerings in, and the
//! [`Node`] handle applications use.
//!
//! ```text
//!  listeners / static peers / Node::attach ──► control thread (Router)
//!                                                │  ▲
//!                    attach, detach, protocol ───┘  │ reports, protocol frames
//!                                                ▼  │
//!                               I/O driver threads (one Worker each)
//! ```

mod config;
mod control;
mod datagram;
mod deliveries;
mod embedding;
mod error;
mod fair_queue;
mod handle;
mod inbox;
mod limits;
mod multicast;
mod outbound;
mod peerings;
mod sessions;
mod stats;

pub use config::{IoDriver, NodeConfig};
pub use datagram::Datagram;
pub use error::NodeError;
pub use handle::Node;
pub use limits::{
    raise_open_file_limit, PeerLimits, PeerRefusal, PeerRefusals, RESERVED_DESCRIPTORS,
};
pub use stats::{NodeStats, PeeringsByType, SessionsStats, TreeStats};
