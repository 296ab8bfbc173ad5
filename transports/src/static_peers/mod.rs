//! Static peers: URIs kept connected, redialled with exponential backoff.

mod backoff;
mod manager;

pub use backoff::{Backoff, BackoffPolicy};
pub use manager::StaticPeers;
