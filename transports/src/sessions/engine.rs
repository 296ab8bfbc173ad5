//! The session thread: owns the QUIC endpoint, every connection and every
//! stream pump, and runs them from datagrams, commands, socket readiness
//! and timers.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use crossbeam_channel::{Receiver, Sender};
use ed25519_dalek::SigningKey;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use pinecone_engine::wire::PublicKey;
use quinn_proto::{Connection, ConnectionHandle, DatagramEvent, Endpoint, StreamId};

use super::addresses::AddressBook;
use super::certificate::Identity;
use super::config::SessionConfig;
use super::error::SessionError;
use super::handle::{Command, EventSink, Inlet, Output};
use super::pump::{Pump, PUMP_CHUNK};
use super::stats::Counters;
use super::stream::SessionStream;
use super::tls::Tls;
use crate::node::Datagram;

/// The poller token of the waker.
pub(crate) const WAKER: Token = Token(usize::MAX);

/// Application close codes of a session.
pub(crate) mod close_code {
    use quinn_proto::VarInt;
    /// A newer session with the same key and protocol took its place
    /// (the reference's code and reason).
    pub(crate) const REPLACED: VarInt = VarInt::from_u32(0);
    /// Refused: its protocol is not listened for, or a limit was reached.
    pub(crate) const REFUSED: VarInt = VarInt::from_u32(1);
    /// Closed by the application.
    pub(crate) const CLOSED: VarInt = VarInt::from_u32(2);
    /// The node is shutting down.
    pub(crate) const SHUTDOWN: VarInt = VarInt::from_u32(3);
}

/// Most datagrams and commands taken between two looks at the sockets.
const INPUTS_PER_PASS: usize = 1_024;

/// A dial waiting for its stream.
pub(crate) struct Dial {
    pub(crate) key: PublicKey,
    pub(crate) protocol: String,
    pub(crate) reply: Sender<Result<SessionStream, SessionError>>,
    /// It already moved to another session once.
    pub(crate) retried: bool,
}

/// One QUIC connection and what hangs on it.
pub(crate) struct Conn {
    pub(crate) conn: Connection,
    pub(crate) key: PublicKey,
    pub(crate) address: SocketAddr,
    /// Known from the start when dialled, after the handshake otherwise.
    pub(crate) protocol: Option<String>,
    pub(crate) outbound: bool,
    pub(crate) established_at: Option<Instant>,
    /// Listed in the session table (under `protocol` and `key`).
    pub(crate) registered: bool,
    /// Counted as an established session.
    pub(crate) counted: bool,
    /// Dials waiting for a stream on it, in order.
    pub(crate) dials: VecDeque<u64>,
    /// Its streams' pumps.
    pub(crate) pumps: HashMap<StreamId, Token>,
    /// Why it is closing, when it is.
    pub(crate) closing: Option<String>,
    /// No longer listed: a session with the same key and protocol took
    /// its place; it carries the streams already on it until it closes.
    pub(crate) retired: bool,
}

/// Everything the session thread owns.
pub(crate) struct Engine {
    pub(crate) endpoint: Endpoint,
    pub(crate) tls: Tls,
    pub(crate) local_key: PublicKey,
    pub(crate) config: SessionConfig,
    pub(crate) book: AddressBook,
    pub(crate) conns: HashMap<ConnectionHandle, Conn>,
    /// Established or dialling sessions by protocol and key.
    pub(crate) sessions: HashMap<(String, PublicKey), ConnectionHandle>,
    /// Accept queues by protocol (both ends: the receiver to hand out
    /// again, and to empty when the protocol is unlistened).
    pub(crate) listeners: HashMap<String, (Sender<SessionStream>, Receiver<SessionStream>)>,
    pub(crate) dials: HashMap<u64, Dial>,
    /// Dials waiting for a session the peer is bringing, with until when.
    pub(crate) parked: Vec<(u64, Instant)>,
    pub(crate) pumps: HashMap<Token, Pump>,
    next_token: usize,
    poll: Poll,
    commands: Receiver<Command>,
    datagrams: Receiver<Datagram>,
    inlet: Arc<Inlet>,
    pub(crate) output: Output,
    pub(crate) events: EventSink,
    pub(crate) counters: Arc<Counters>,
    pub(crate) established: Arc<AtomicUsize>,
    /// Connections with something to process or send.
    pub(crate) touched: Vec<ConnectionHandle>,
    /// Pumps with something to move.
    pub(crate) ready_pumps: Vec<Token>,
    scratch: Vec<u8>,
    transmit: Vec<u8>,
}

impl Engine {
    /// An engine for the node with `key`; runs once [`run`](Self::run).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        key: &SigningKey,
        config: SessionConfig,
        poll: Poll,
        commands: Receiver<Command>,
        datagrams: Receiver<Datagram>,
        inlet: Arc<Inlet>,
        output: Output,
        events: EventSink,
        counters: Arc<Counters>,
        established: Arc<AtomicUsize>,
    ) -> Result<Engine, SessionError> {
        let start = |error: &dyn std::fmt::Display| SessionError::Start(error.to_string());
        let identity = Identity::new(key).map_err(|error| start(&error))?;
        let tls = Tls::new(&identity, &config).map_err(|error| start(&error))?;
        let local_key = PublicKey(key.verifying_key().to_bytes());
        // The endpoint's own server settings are never used for a
        // handshake (every attempt accepted gets settings bound to its
        // source key), but without any it would not take attempts at all.
        let server = tls.server(local_key, &[]).map_err(|error| start(&error))?;
        let endpoint = Endpoint::new(
            Arc::new(Tls::endpoint_config()),
            Some(Arc::new(server)),
            false,
            None,
        );
        Ok(Engine {
            endpoint,
            tls,
            local_key,
            config,
            book: AddressBook::default(),
            conns: HashMap::new(),
            sessions: HashMap::new(),
            listeners: HashMap::new(),
            dials: HashMap::new(),
            parked: Vec::new(),
            pumps: HashMap::new(),
            next_token: 0,
            poll,
            commands,
            datagrams,
            inlet,
            output,
            events,
            counters,
            established,
            touched: Vec::new(),
            ready_pumps: Vec::new(),
            scratch: vec![0; PUMP_CHUNK],
            transmit: Vec::with_capacity(usize::from(super::config::MAX_QUIC_DATAGRAM)),
        })
    }

    /// Runs until told to shut down.
    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self
                .next_timeout()
                .map(|at| at.saturating_duration_since(Instant::now()));
            if let Err(error) = self.poll.poll(&mut events, timeout) {
                if error.kind() != std::io::ErrorKind::Interrupted {
                    tracing::error!(%error, "the session thread's poller failed");
                    break;
                }
            }
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                if let Some(pump) = self.pumps.get_mut(&token) {
                    pump.on_ready(
                        event.is_readable() || event.is_read_closed(),
                        event.is_writable(),
                        event.is_write_closed() || event.is_error(),
                    );
                    self.ready_pump(token);
                }
            }
            if !self.take_commands() {
                break;
            }
            self.take_datagrams();
            self.run_timers();
            self.settle();
        }
        self.shut_down();
    }

    /// The earliest timer of any connection.
    fn next_timeout(&mut self) -> Option<Instant> {
        let parked = self.parked.iter().map(|&(_, until)| until).min();
        self.conns
            .values_mut()
            .filter_map(|conn| conn.conn.poll_timeout())
            .chain(parked)
            .min()
    }

    /// Serves the waiting commands; `false` on shutdown.
    fn take_commands(&mut self) -> bool {
        for _ in 0..INPUTS_PER_PASS {
            let Ok(command) = self.commands.try_recv() else {
                break;
            };
            match command {
                Command::Listen { protocol, reply } => {
                    let queue = self.listeners.entry(protocol).or_insert_with(|| {
                        crossbeam_channel::bounded(self.config.accept_backlog.max(1))
                    });
                    let _ = reply.send(queue.1.clone());
                }
                Command::Unlisten { protocol, reply } => {
                    let found = self.listeners.remove(&protocol);
                    if let Some((_, waiting)) = &found {
                        // Streams never accepted: dropping them closes
                        // them, and their pumps tell the peers.
                        while waiting.try_recv().is_ok() {}
                    }
                    let _ = reply.send(found.is_some());
                }
                Command::Dial {
                    id,
                    key,
                    protocol,
                    reply,
                } => self.dial(id, key, protocol, reply),
                Command::ForgetDial(id) => {
                    self.dials.remove(&id);
                }
                Command::CancelDials {
                    key,
                    protocol,
                    reply,
                } => {
                    let _ = reply.send(self.cancel_dials(key, &protocol));
                }
                Command::List(reply) => {
                    let _ = reply.send(self.list());
                }
                Command::Close { key, reply } => {
                    let _ = reply.send(self.close_key(key));
                }
                Command::Shutdown => return false,
            }
        }
        true
    }

    /// Feeds the queued datagrams to the endpoint.
    fn take_datagrams(&mut self) {
        self.inlet.drained();
        let now = Instant::now();
        for _ in 0..INPUTS_PER_PASS {
            let Ok(datagram) = self.datagrams.try_recv() else {
                break;
            };
            self.handle_datagram(datagram, now);
        }
        if !self.datagrams.is_empty() {
            // More than a pass's worth: come back after the sockets.
            self.inlet.wake();
        }
    }

    fn handle_datagram(&mut self, datagram: Datagram, now: Instant) {
        let source = datagram.source;
        let address = super::addresses::address_of(&source);
        let data = BytesMut::from(&datagram.payload[..]);
        self.transmit.clear();
        let mut response = std::mem::take(&mut self.transmit);
        match self
            .endpoint
            .handle(now, address, None, None, data, &mut response)
        {
            Some(DatagramEvent::ConnectionEvent(ch, event)) => {
                if let Some(conn) = self.conns.get_mut(&ch) {
                    conn.conn.handle_event(event);
                    self.touched.push(ch);
                }
            }
            Some(DatagramEvent::NewConnection(incoming)) => {
                self.incoming(incoming, source, now, &mut response);
            }
            Some(DatagramEvent::Response(transmit)) => {
                (self.output)(source, &response[..transmit.size]);
            }
            None => {}
        }
        self.transmit = response;
    }

    /// Runs the timers that are due.
    fn run_timers(&mut self) {
        let now = Instant::now();
        self.expire_parked(now);
        for (ch, conn) in &mut self.conns {
            if conn.conn.poll_timeout().is_some_and(|at| at <= now) {
                conn.conn.handle_timeout(now);
                self.touched.push(*ch);
            }
        }
    }

    /// Processes touched connections and ready pumps until neither has
    /// anything left, then sends what the connections have.
    fn settle(&mut self) {
        let mut to_send = Vec::new();
        for _ in 0..8 {
            if self.touched.is_empty() && self.ready_pumps.is_empty() {
                break;
            }
            let mut touched = std::mem::take(&mut self.touched);
            touched.sort_unstable();
            touched.dedup();
            for &ch in &touched {
                self.process(ch);
            }
            to_send.extend(touched);
            let pumps = std::mem::take(&mut self.ready_pumps);
            for token in pumps {
                self.service_pump(token);
            }
        }
        to_send.append(&mut self.touched);
        to_send.sort_unstable();
        to_send.dedup();
        let now = Instant::now();
        for ch in to_send {
            self.send_transmits(ch, now);
            self.process(ch);
        }
        // Events raised while sending (a drained connection) are
        // processed; their pumps wait for the next pass.
        self.touched.clear();
    }

    /// Sends every datagram connection `ch` has ready, one per overlay
    /// frame.
    fn send_transmits(&mut self, ch: ConnectionHandle, now: Instant) {
        let Some(conn) = self.conns.get_mut(&ch) else {
            return;
        };
        loop {
            self.transmit.clear();
            let Some(transmit) = conn.conn.poll_transmit(now, 1, &mut self.transmit) else {
                break;
            };
            let size = transmit.size.min(self.transmit.len());
            // Migration is off: the destination is always the address the
            // connection started with, held in the book for its life.
            match self.book.key_of(&transmit.destination) {
                Some(key) => (self.output)(key, &self.transmit[..size]),
                None => {
                    tracing::debug!(destination = %transmit.destination, "no key for a session address")
                }
            }
        }
    }

    /// Marks a pump as having something to move.
    pub(crate) fn ready_pump(&mut self, token: Token) {
        if let Some(pump) = self.pumps.get_mut(&token) {
            if !pump.queued {
                pump.queued = true;
                self.ready_pumps.push(token);
            }
        }
    }

    /// Moves a pump's bytes; removes it when its stream is done.
    fn service_pump(&mut self, token: Token) {
        let Some(pump) = self.pumps.get_mut(&token) else {
            return;
        };
        pump.queued = false;
        let Some(conn) = self.conns.get_mut(&pump.conn) else {
            return;
        };
        let done = pump.service(&mut conn.conn, &mut self.scratch);
        self.touched.push(pump.conn);
        if done {
            self.remove_pump(token);
        }
    }

    /// Starts a pump for stream `id` of `ch`; returns the application's
    /// end.
    pub(crate) fn new_stream(
        &mut self,
        ch: ConnectionHandle,
        id: StreamId,
    ) -> std::io::Result<SessionStream> {
        let conn = self
            .conns
            .get_mut(&ch)
            .ok_or_else(|| std::io::Error::other("no such session"))?;
        let (ours, theirs) = UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        let token = Token(self.next_token);
        self.next_token = (self.next_token + 1) % (usize::MAX - 1);
        let pump = Pump::new(ours, ch, id);
        self.poll.registry().register(
            &mut SourceFd(&pump.fd()),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conn.pumps.insert(id, token);
        let protocol = conn.protocol.clone().unwrap_or_default();
        let key = conn.key;
        self.pumps.insert(token, pump);
        self.ready_pump(token);
        Ok(SessionStream::new(theirs, key, protocol))
    }

    /// Ends a pump: its socket is closed and its stream forgotten.
    pub(crate) fn remove_pump(&mut self, token: Token) {
        let Some(pump) = self.pumps.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut SourceFd(&pump.fd()));
        if let Some(conn) = self.conns.get_mut(&pump.conn) {
            conn.pumps.remove(&pump.id);
        }
    }

    /// Closes every session, sends the closes and stops.
    fn shut_down(&mut self) {
        let now = Instant::now();
        let handles: Vec<_> = self.conns.keys().copied().collect();
        for ch in &handles {
            if let Some(conn) = self.conns.get_mut(ch) {
                conn.conn
                    .close(now, close_code::SHUTDOWN, "node shutting down".into());
            }
        }
        for ch in handles {
            self.send_transmits(ch, now);
            self.process(ch);
        }
        self.dials.clear();
        self.listeners.clear();
        self.established.store(0, Ordering::Relaxed);
    }

    /// Closes every session with `key`; returns how many were
    /// established.
    fn close_key(&mut self, key: PublicKey) -> usize {
        let now = Instant::now();
        let reason = "closed by the application";
        let handles: Vec<_> = self
            .conns
            .iter()
            .filter(|(_, conn)| conn.key == key && conn.closing.is_none())
            .map(|(&ch, _)| ch)
            .collect();
        let mut closed = 0;
        for ch in handles {
            if let Some(conn) = self.conns.get_mut(&ch) {
                conn.conn.close(now, close_code::CLOSED, reason.into());
                conn.closing = Some(reason.to_owned());
                closed += usize::from(conn.counted);
            }
            self.unregister(ch, reason);
            self.touched.push(ch);
        }
        closed
    }
}
