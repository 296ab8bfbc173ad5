//! Keeps a set of peer URIs connected.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use tracing::{debug, info, warn};

use super::backoff::{Backoff, BackoffPolicy};
use crate::transport::{PeeringSink, Transport};
use crate::uri::{PeerUri, UriError};

/// The zone of static peers, as the reference.
const STATIC_ZONE: &str = "static";

/// Dials every added URI, hands each established peering to the sink, and
/// redials with [`Backoff`] when an attempt fails or when the node reports
/// (with [`disconnected`](StaticPeers::disconnected)) that the peering
/// ended. Peerings carry the zone `"static"` and the URI in canonical form.
///
/// Each attempt runs on its own thread; a worker thread starts them when
/// due. Dropping the manager stops redialling; peerings already delivered
/// are the node's to close.
pub struct StaticPeers {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    transport: Transport,
    sink: PeeringSink,
    policy: BackoffPolicy,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    peers: BTreeMap<PeerUri, StaticPeer>,
    next_id: u64,
    stopping: bool,
}

struct StaticPeer {
    /// Tells this entry from an earlier one for the same URI, so that an
    /// attempt outliving a removal is discarded.
    id: u64,
    backoff: Backoff,
    status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Dialling,
    Connected,
}

impl StaticPeers {
    /// Starts the manager with no peers.
    pub fn start(
        transport: Transport,
        sink: PeeringSink,
        policy: BackoffPolicy,
    ) -> io::Result<StaticPeers> {
        let shared = Arc::new(Shared {
            transport,
            sink,
            policy,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("pinecone-static-peers".to_owned())
                .spawn(move || run_worker(&shared))?
        };
        Ok(StaticPeers {
            shared,
            worker: Some(worker),
        })
    }

    /// Adds a URI to keep connected and dials it at once; adding one
    /// already present changes nothing. Returns the URI in canonical form.
    pub fn add(&self, uri: &str) -> Result<PeerUri, UriError> {
        let uri: PeerUri = uri.parse()?;
        let mut state = self.shared.lock();
        if !state.peers.contains_key(&uri) {
            let id = state.next_id;
            state.next_id += 1;
            let backoff = Backoff::new(self.shared.policy, Instant::now());
            let status = Status::Waiting;
            state.peers.insert(
                uri.clone(),
                StaticPeer {
                    id,
                    backoff,
                    status,
                },
            );
            self.shared.changed.notify_all();
        }
        Ok(uri)
    }

    /// Stops keeping `uri` connected; returns whether it was present. A
    /// peering already established for it stays up until the node closes
    /// it.
    pub fn remove(&self, uri: &str) -> bool {
        let Ok(uri) = uri.parse::<PeerUri>() else {
            return false;
        };
        self.shared.lock().peers.remove(&uri).is_some()
    }

    /// Stops keeping every URI connected; returns them. Peerings already
    /// established stay up until the node closes them.
    pub fn clear(&self) -> Vec<PeerUri> {
        let peers = std::mem::take(&mut self.shared.lock().peers);
        peers.into_keys().collect()
    }

    /// Whether `uri` is kept connected.
    pub fn contains(&self, uri: &PeerUri) -> bool {
        self.shared.lock().peers.contains_key(uri)
    }

    /// The node's report that the peering for `uri` ended: it is redialled
    /// after the current backoff delay. URIs that are not static peers, or
    /// not connected, are ignored.
    pub fn disconnected(&self, uri: &str) {
        let Ok(uri) = uri.parse::<PeerUri>() else {
            return;
        };
        let mut state = self.shared.lock();
        let Some(peer) = state.peers.get_mut(&uri) else {
            return;
        };
        if peer.status != Status::Connected {
            return;
        }
        let delay = peer.backoff.retry_later(Instant::now());
        peer.status = Status::Waiting;
        self.shared.changed.notify_all();
        info!(%uri, ?delay, "static peer disconnected; redialling");
    }

    /// The URIs kept connected, in canonical form.
    pub fn uris(&self) -> Vec<PeerUri> {
        self.shared.lock().peers.keys().cloned().collect()
    }
}

impl Drop for StaticPeers {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.stopping = true;
            state.peers.clear();
        }
        self.shared.changed.notify_all();
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                warn!("static peer worker panicked");
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts every due attempt, then sleeps until the next one is due or the
/// set changes.
fn run_worker(shared: &Arc<Shared>) {
    let mut state = shared.lock();
    while !state.stopping {
        let now = Instant::now();
        let mut next_due: Option<Instant> = None;
        for (uri, peer) in &mut state.peers {
            if peer.status != Status::Waiting {
                continue;
            }
            if peer.backoff.is_due(now) {
                start_attempt(shared, uri, peer, now);
            }
            if peer.status == Status::Waiting {
                let at = peer.backoff.next_attempt();
                next_due = Some(next_due.map_or(at, |due| due.min(at)));
            }
        }
        state = match next_due {
            Some(at) => {
                let timeout = at.saturating_duration_since(Instant::now());
                let (state, _) = shared
                    .changed
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(PoisonError::into_inner);
                state
            }
            None => shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

fn start_attempt(shared: &Arc<Shared>, uri: &PeerUri, peer: &mut StaticPeer, now: Instant) {
    peer.status = Status::Dialling;
    let attempt = {
        let shared = Arc::clone(shared);
        let uri = uri.clone();
        let id = peer.id;
        thread::Builder::new()
            .name("pinecone-dial".to_owned())
            .spawn(move || attempt(&shared, uri, id))
    };
    if let Err(error) = attempt {
        let delay = peer.backoff.retry_later(now);
        peer.status = Status::Waiting;
        warn!(%uri, %error, ?delay, "cannot start a thread to dial a static peer");
    }
}

/// Dials once and records the outcome, unless the peer was removed (or the
/// manager stopped) meanwhile, in which case a new peering is closed.
fn attempt(shared: &Shared, uri: PeerUri, id: u64) {
    debug!(%uri, "dialling static peer");
    let result = shared.transport.dial(&uri, STATIC_ZONE);
    let mut state = shared.lock();
    let Some(peer) = state.peers.get_mut(&uri).filter(|peer| peer.id == id) else {
        drop(state);
        if result.is_ok() {
            debug!(%uri, "static peer removed while dialling; closing the new peering");
        }
        return;
    };
    match result {
        Ok(peering) => {
            peer.backoff.succeeded();
            peer.status = Status::Connected;
            drop(state);
            (shared.sink)(peering);
        }
        Err(error) => {
            let delay = peer.backoff.retry_later(Instant::now());
            peer.status = Status::Waiting;
            shared.changed.notify_all();
            info!(%uri, %error, ?delay, "cannot connect to static peer; retrying later");
        }
    }
}
