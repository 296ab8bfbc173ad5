//! The handshakes of conduits still running, so that shutting a node down
//! ends them.

use std::collections::HashMap;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The node's ends of conduits whose handshake is running, so that
/// shutting the node down ends them at once rather than at the handshake
/// deadline.
#[derive(Debug, Default)]
pub(crate) struct PendingHandshakes {
    next_id: AtomicU64,
    streams: Mutex<HashMap<u64, UnixStream>>,
}

impl PendingHandshakes {
    fn streams(&self) -> MutexGuard<'_, HashMap<u64, UnixStream>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers a second handle to `stream`; returns its number.
    pub(crate) fn add(&self, stream: &UnixStream) -> std::io::Result<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.streams().insert(id, stream.try_clone()?);
        Ok(id)
    }

    /// Forgets the stream numbered `id`: its handshake is over.
    pub(crate) fn remove(&self, id: u64) {
        self.streams().remove(&id);
    }

    /// Ends every handshake still running.
    pub(crate) fn end_all(&self) {
        for (_, stream) in self.streams().drain() {
            // Nothing to do if it fails: the stream is going anyway.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}
