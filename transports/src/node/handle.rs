//! The [`Node`] handle: what applications, the daemon and foreign-language
//! bindings call.

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use ed25519_dalek::SigningKey;
use pinecone_engine::control::{Event, PeerSummary, Port, Router};
use pinecone_engine::forward::Fabric;
use pinecone_engine::wire::{Coords, PublicKey};
use rand_core::{OsRng, RngCore};
use tracing::info;

use super::config::{IoDriver, NodeConfig};
use super::control::{Control, SUBSCRIBER_QUEUE};
use super::datagram::{send_through_fabric, Datagram};
use super::deliveries::{delivery_queue, DeliveryQueue};
use super::error::NodeError;
use super::fair_queue::FairQueue;
use super::inbox::{control_doorbell, ControlInput, Request};
use super::limits::{PeerCounts, PeerRefusals};
use super::multicast::MulticastSlot;
use super::peerings::Peerings;
use super::sessions::NodeSessions;
use super::stats::{NodeStats, SessionsStats};
use crate::admission::{AdmissionStats, PeerGate};
use crate::io::{self, pin_current, spawn_epoll, spawn_uring, CorePlan, DriverHooks};
use crate::listener::Listener;
use crate::peering::{PeerOrigin, PeerStream};
use crate::static_peers::{BackoffPolicy, StaticPeers};
use crate::transport::{ManholeFn, PeeringSink, Transport};
use crate::uri::PeerUri;

/// How long the `/manhole` endpoint waits for the control thread.
const MANHOLE_PATIENCE: Duration = Duration::from_secs(5);

/// A running node. Every method may be called from any thread; dropping
/// it shuts the node down.
pub struct Node {
    pub(super) public_key: PublicKey,
    io_driver: IoDriver,
    pub(super) transport: Transport,
    pub(super) inbox: Sender<ControlInput>,
    pub(super) fabric: Arc<Fabric>,
    deliveries: DeliveryQueue,
    listeners: Mutex<Vec<Listener>>,
    control: Mutex<Option<JoinHandle<()>>>,
    /// The session endpoint, from the first session call on.
    pub(super) sessions: NodeSessions,
    /// Multicast discovery, when it runs, and the host's interface list.
    pub(super) multicast: MulticastSlot,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Node {
    /// Starts a node with a random key.
    pub fn random(config: NodeConfig) -> Result<Node, NodeError> {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        Node::start(seed, config)
    }

    /// Starts a node whose ed25519 key comes from the 32-byte `seed`: its
    /// control thread, one I/O driver per forwarding worker and the static
    /// peer manager. It has no listeners and no peers yet.
    pub fn start(seed: [u8; 32], config: NodeConfig) -> Result<Node, NodeError> {
        let signing_key = SigningKey::from_bytes(&seed);
        let now = io::now();
        let mut router = Router::new(signing_key.clone(), config.router.clone(), now);
        let public_key = router.public_key();
        let workers = config.worker_count();
        let forward = pinecone_engine::forward::ForwardConfig {
            workers,
            ..config.forward.clone()
        };
        let fabric = Fabric::new(forward, router.routing_table());
        let (inbox_tx, inbox) = crossbeam_channel::unbounded();
        let doorbell = control_doorbell(inbox_tx.clone());
        let io_driver = match config.io {
            IoDriver::Uring => match io::uring_available() {
                Ok(()) => IoDriver::Uring,
                Err(error) => {
                    info!(%error, "io_uring is unavailable; using epoll");
                    IoDriver::Epoll
                }
            },
            IoDriver::Epoll => IoDriver::Epoll,
        };
        let cores = CorePlan::new(workers, config.pin_threads);
        let mut drivers = Vec::with_capacity(workers);
        for index in 0..workers {
            let reports = inbox_tx.clone();
            let control = Arc::clone(&doorbell);
            let hooks = DriverHooks {
                report: Box::new(move |report| {
                    let _ = reports.send(ControlInput::Driver(report));
                }),
                after_round: Box::new(move || control.ring()),
            };
            drivers.push(match io_driver {
                IoDriver::Uring => spawn_uring(&fabric, index, hooks, cores.worker(index))?,
                IoDriver::Epoll => spawn_epoll(&fabric, index, hooks, cores.worker(index))?,
            });
        }
        let gate = PeerGate {
            established: Arc::default(),
            max: config.limits.max_peers,
        };
        let established = Arc::clone(&gate.established);
        let sessions = NodeSessions::new(signing_key.clone(), config.sessions.clone());
        let transport = Transport::gated(signing_key, config.transport.clone(), gate);
        let static_peers = StaticPeers::start(
            transport.clone(),
            peering_sink(&inbox_tx),
            BackoffPolicy::default(),
        )?;
        let (deliveries_tx, deliveries) = delivery_queue(config.forward.delivery_queue_len)?;
        let node_fabric = Arc::clone(&fabric);
        let next_timer = router.poll_timeout();
        let control = Control {
            router,
            fabric,
            drivers,
            inbox,
            doorbell,
            static_peers: Some(static_peers),
            deliveries: deliveries_tx,
            peerings: Peerings::default(),
            subscribers: Vec::new(),
            next_driver: 0,
            counts: PeerCounts::new(config.limits.clone()),
            established,
            frames: FairQueue::default(),
            activity_noted: None,
            next_timer,
            timers_ran: None,
            sessions: None,
        };
        let thread = thread::Builder::new()
            .name("pinecone-control".to_owned())
            .spawn(move || {
                pin_current(cores.control());
                control.run()
            })?;
        Ok(Node {
            public_key,
            io_driver,
            transport,
            inbox: inbox_tx,
            fabric: node_fabric,
            deliveries,
            listeners: Mutex::new(Vec::new()),
            control: Mutex::new(Some(thread)),
            sessions,
            multicast: MulticastSlot::default(),
        })
    }

    /// This node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The I/O driver running: the one configured, or epoll when io_uring
    /// was asked for but the kernel does not allow it or the crate was
    /// built without its `io-uring` feature.
    pub fn io_driver(&self) -> IoDriver {
        self.io_driver
    }

    /// Listens for TCP peers on `address` (port 0 picks one); returns the
    /// address bound.
    pub fn listen_tcp(&self, address: impl ToSocketAddrs) -> Result<SocketAddr, NodeError> {
        let listener = self
            .transport
            .listen_tcp(address, peering_sink(&self.inbox))?;
        Ok(self.keep(listener))
    }

    /// Listens for WebSocket peers on `address`; with `manhole`, also
    /// serves the state dump as JSON at `/manhole`. Returns the address
    /// bound.
    pub fn listen_ws(
        &self,
        address: impl ToSocketAddrs,
        manhole: bool,
    ) -> Result<SocketAddr, NodeError> {
        let dump = manhole.then(|| {
            let inbox = self.inbox.clone();
            let dump: ManholeFn = Arc::new(move || {
                let (reply, answer) = crossbeam_channel::bounded(1);
                let _ = inbox.send(ControlInput::Request(Request::Dump(reply)));
                answer
                    .recv_timeout(MANHOLE_PATIENCE)
                    .unwrap_or_else(|_| "{}".to_owned())
            });
            dump
        });
        let listener = self
            .transport
            .listen_websocket(address, peering_sink(&self.inbox), dump)?;
        Ok(self.keep(listener))
    }

    fn keep(&self, listener: Listener) -> SocketAddr {
        let address = listener.local_addr();
        lock(&self.listeners).push(listener);
        address
    }

    /// Keeps `uri` (`host:port`, `tcp://…`, `ws://…`, `wss://…`) connected
    /// as a static peer, redialling with exponential backoff; returns it in
    /// canonical form.
    pub fn connect(&self, uri: &str) -> Result<PeerUri, NodeError> {
        let uri = uri.to_owned();
        Ok(self.ask(|reply| Request::Connect { uri, reply })??)
    }

    /// Runs the handshake on a stream connected by other means (blocking
    /// for at most the handshake deadline) and peers over it; returns the
    /// peer's key. The peering counts against the node's
    /// [`PeerLimits`](super::PeerLimits) and is refused past them.
    pub fn attach(&self, stream: PeerStream, origin: PeerOrigin) -> Result<PublicKey, NodeError> {
        let peering = self.transport.establish(stream, origin)?;
        let key = peering.public_key;
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.inbox
            .send(ControlInput::Peering {
                peering,
                reply: Some(reply),
            })
            .map_err(|_| NodeError::Stopped)?;
        match answer.recv() {
            Ok(Ok(())) => Ok(key),
            Ok(Err(refusal)) => Err(NodeError::Refused(refusal)),
            Err(_) => Err(NodeError::Stopped),
        }
    }

    /// Inbound connections admitted and refused before their setup, by
    /// reason.
    pub fn admission_stats(&self) -> AdmissionStats {
        self.transport.admission_stats()
    }

    /// Peerings refused at the limits so far, by limit.
    pub fn peer_refusals(&self) -> Result<PeerRefusals, NodeError> {
        self.ask(Request::Refusals)
    }

    /// Everything the node counts, summed over its peerings (nothing per
    /// peer key): see [`NodeStats`]. It asks the control thread and takes
    /// a snapshot of each peering's counters, so it costs in proportion to
    /// the peerings, and nothing on the forwarding path waits for it.
    pub fn stats(&self) -> Result<NodeStats, NodeError> {
        let mut stats = self.ask(Request::Stats)?;
        stats.connections = self.transport.admission_stats();
        stats.handshakes = self.transport.handshake_stats();
        stats.sessions = SessionsStats::new(self.session_count(), self.session_stats());
        Ok(stats)
    }

    /// Sends a datagram to the node with key `dest`.
    ///
    /// When the routing table in use has a next hop for `dest`, the frame
    /// goes straight to the forwarding worker of that peering. A datagram
    /// for this node, or one the table cannot route yet, goes through the
    /// control thread.
    pub fn send(&self, dest: PublicKey, payload: &[u8]) -> Result<(), NodeError> {
        if lock(&self.control).is_none() {
            return Err(NodeError::Stopped);
        }
        if dest != self.public_key
            && send_through_fabric(&self.fabric, self.public_key, dest, payload, io::now())?
        {
            return Ok(());
        }
        let payload = payload.to_vec();
        Ok(self.ask(|reply| Request::Send {
            dest,
            payload,
            reply,
        })??)
    }

    /// The next datagram, waiting at most `timeout` (not at all when it is
    /// zero); `None` when none came in time or the node shut down.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Datagram> {
        self.deliveries.recv_timeout(timeout)
    }

    /// The next datagram if one is waiting.
    pub fn try_recv(&self) -> Option<Datagram> {
        self.deliveries.recv_timeout(Duration::ZERO)
    }

    /// Puts a datagram taken by a receive back at the front of the queue,
    /// so that the next receive gets it first (for a caller whose buffer
    /// turned out too short for it).
    pub fn hand_back(&self, datagram: Datagram) {
        self.deliveries.hand_back(datagram);
    }

    /// A file descriptor readable while datagrams wait, for a program that
    /// waits in an event loop of its own (epoll, poll, libuv, Go's
    /// netpoller) instead of in [`recv_timeout`](Self::recv_timeout).
    ///
    /// Level semantics: from the first call on, the descriptor is readable
    /// whenever at least one datagram waits, and becomes unreadable when a
    /// receive leaves the queue empty; after the node shuts down it stays
    /// readable (receives then return `None`). Wait for it to be readable
    /// (`EPOLLIN`, edge- or level-triggered), then receive with a zero
    /// timeout until that returns `None`. With several receivers, one may
    /// wake to find that another took the datagram. The descriptor is the
    /// node's: do not read, write or close it.
    pub fn datagram_fd(&self) -> BorrowedFd<'_> {
        self.deliveries.fd()
    }

    /// The peerings, in port order.
    pub fn peers(&self) -> Result<Vec<PeerSummary>, NodeError> {
        self.ask(Request::Peers)
    }

    /// This node's tree coordinates.
    pub fn coords(&self) -> Result<Coords, NodeError> {
        self.ask(Request::Coords)
    }

    /// Every event of the router from now on (peers, parent, paths…). A
    /// subscriber that falls behind by more than a few thousand events
    /// misses the newer ones.
    pub fn subscribe(&self) -> Result<Receiver<Event>, NodeError> {
        let (events, receiver) = crossbeam_channel::bounded(SUBSCRIBER_QUEUE);
        self.inbox
            .send(ControlInput::Request(Request::Subscribe(events)))
            .map_err(|_| NodeError::Stopped)?;
        Ok(receiver)
    }

    /// The state dump as JSON, with the fields of the reference's manhole.
    pub fn state_dump_json(&self) -> Result<String, NodeError> {
        self.ask(Request::Dump)
    }

    /// Closes the peering on `port`; returns whether there was one.
    pub fn disconnect(&self, port: Port) -> Result<bool, NodeError> {
        self.ask(|reply| Request::Disconnect { port, reply })
    }

    /// Stops listening and dialling, closes every session (telling the
    /// peers) and every peering and joins every thread; a blocked
    /// [`recv_timeout`](Self::recv_timeout) returns `None`, blocked session
    /// accepts and dials fail. Calling it again does nothing.
    pub fn shutdown(&self) {
        self.multicast.stop();
        lock(&self.listeners).clear();
        self.sessions.stop();
        let Some(control) = lock(&self.control).take() else {
            return;
        };
        let _ = self.inbox.send(ControlInput::Shutdown);
        if control.join().is_err() {
            tracing::warn!("the control thread panicked");
        }
    }

    /// Sends a request to the control thread and waits for its answer.
    pub(super) fn ask<T>(
        &self,
        request: impl FnOnce(Sender<T>) -> Request,
    ) -> Result<T, NodeError> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.inbox
            .send(ControlInput::Request(request(reply)))
            .map_err(|_| NodeError::Stopped)?;
        answer.recv().map_err(|_| NodeError::Stopped)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A sink that hands peerings to the control thread.
pub(super) fn peering_sink(inbox: &Sender<ControlInput>) -> PeeringSink {
    let inbox = inbox.clone();
    Arc::new(move |peering| {
        let _ = inbox.send(ControlInput::Peering {
            peering,
            reply: None,
        });
    })
}
