//! The runtime's clock: Unix milliseconds, as the router expects.

use std::time::{SystemTime, UNIX_EPOCH};

use pinecone_engine::control::Millis;

/// Milliseconds since the Unix epoch (zero if the clock is before it).
pub(crate) fn now() -> Millis {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}
