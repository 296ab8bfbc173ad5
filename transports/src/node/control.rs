//! The control thread: owns the router, feeds it what the workers and
//! transports bring in, and carries out what it decides.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use pinecone_engine::control::{Event, Millis, PeerInfo, Router};
use pinecone_engine::forward::{ControlFrame, Doorbell, Fabric};
use tracing::info;

use super::datagram::Datagram;
use super::deliveries::DeliverySender;
use super::fair_queue::FairQueue;
use super::inbox::{ControlInput, Request};
use super::limits::{PeerCounts, PeerRefusal};
use super::peerings::{PeeringRecord, Peerings};
use crate::io::{self, CloseReason, DriverCommand, DriverHandle, DriverReport, PeeringId};
use crate::peering::Peering;
use crate::sessions::Inlet;
use crate::static_peers::StaticPeers;

/// The longest the thread sleeps, so that peering activity reaches the
/// router's keepalive and dead-peer timers at least this often.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// The least time between two drains of the forwarding plane's queues
/// prompted by workers alone, so that a busy forwarding plane does not
/// keep the control thread spinning: protocol frames and datagrams wait at
/// most this long.
const MIN_WAKE_GAP: Duration = Duration::from_millis(1);

/// Peerings a worker takes before new ones go to another worker.
const PACKED_PEERINGS: usize = 4;

/// The most protocol frames the router handles in one service pass, and
/// the most time it spends on them: past either, timers, requests and
/// new peerings get their turn before the next pass (the frames left
/// wait in their peerings' queues).
const FRAMES_PER_PASS: usize = 512;
const PASS_BUDGET: Duration = Duration::from_millis(5);

/// Inputs (requests, peerings, reports) taken between two service passes.
const INPUTS_PER_PASS: usize = 1_024;

/// The least time between two runs of the router's timers. Its timers are
/// seconds long (keepalives after 3 s, dead peers after 5 s, a SNEK tick
/// every second), and with thousands of peerings one of them is due almost
/// every millisecond: running them in batches keeps each run's cost (a
/// look at every peering) from being paid a thousand times a second.
const TIMER_GRANULARITY: Duration = Duration::from_millis(20);

/// How often the router hears when each peering last moved bytes: often
/// enough for its keepalive and dead-peer timers (3 s and 5 s), rarely
/// enough that thousands of peerings cost little.
const ACTIVITY_EVERY: Duration = Duration::from_millis(100);

/// Events queued for one subscriber before further events are dropped.
pub(crate) const SUBSCRIBER_QUEUE: usize = 4_096;

/// Everything the control thread owns.
pub(crate) struct Control {
    pub(crate) router: Router,
    pub(crate) fabric: Arc<Fabric>,
    pub(crate) drivers: Vec<DriverHandle>,
    pub(crate) inbox: Receiver<ControlInput>,
    pub(crate) doorbell: Arc<Doorbell>,
    pub(crate) static_peers: Option<StaticPeers>,
    pub(crate) deliveries: DeliverySender,
    pub(crate) peerings: Peerings,
    pub(crate) subscribers: Vec<Sender<Event>>,
    /// Where the search for the least loaded driver starts next.
    pub(crate) next_driver: usize,
    /// Established peerings against the limits.
    pub(crate) counts: PeerCounts,
    /// Established peerings, as the listeners' admission sees them.
    pub(crate) established: Arc<AtomicUsize>,
    /// Protocol frames taken from the forwarding plane, per peering.
    pub(crate) frames: FairQueue<ControlFrame>,
    /// When the router last heard of the peerings' activity.
    pub(crate) activity_noted: Option<Instant>,
    /// When the router's next timer is due, as of the last pass.
    pub(crate) next_timer: Option<Millis>,
    /// When the router's timers last ran.
    pub(crate) timers_ran: Option<Instant>,
    /// Where datagrams for this node go while sessions run.
    pub(crate) sessions: Option<Arc<Inlet>>,
}

impl Control {
    /// Runs until told to shut down, then closes every peering and joins
    /// the drivers.
    pub(crate) fn run(mut self) {
        let mut last_service = Instant::now();
        // A worker rang, and its queues were not drained since.
        let mut woken = false;
        // The last pass left frames waiting.
        let mut backlog = false;
        loop {
            let now = io::now();
            let mut wait = self
                .next_timer
                .map_or(MAX_SLEEP, |at| at.saturating_since(now))
                .max(self.timer_holdoff())
                .min(MAX_SLEEP);
            if woken {
                wait = wait.min(MIN_WAKE_GAP.saturating_sub(last_service.elapsed()));
            }
            if backlog {
                wait = Duration::ZERO;
            }
            // Anything but a worker's wakeup is served at once.
            let mut urgent = backlog;
            let mut running = true;
            match self.inbox.recv_timeout(wait) {
                Ok(input) => {
                    woken |= matches!(input, ControlInput::Doorbell);
                    urgent |= !matches!(input, ControlInput::Doorbell);
                    running = self.handle(input);
                }
                Err(RecvTimeoutError::Timeout) => urgent |= !woken,
                Err(RecvTimeoutError::Disconnected) => break,
            }
            for _ in 1..INPUTS_PER_PASS {
                if !running {
                    break;
                }
                match self.inbox.try_recv() {
                    Ok(input) => {
                        woken |= matches!(input, ControlInput::Doorbell);
                        urgent |= !matches!(input, ControlInput::Doorbell);
                        running = self.handle(input);
                    }
                    Err(_) => break,
                }
            }
            if !running {
                break;
            }
            if urgent || last_service.elapsed() >= MIN_WAKE_GAP {
                backlog = self.service();
                last_service = Instant::now();
                woken = false;
            }
        }
        self.static_peers = None;
        self.drivers.clear();
    }

    /// Handles one input; `false` means shut down.
    fn handle(&mut self, input: ControlInput) -> bool {
        let now = io::now();
        match input {
            ControlInput::Peering { peering, reply } => {
                let result = self.add_peering(peering, now);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            ControlInput::Driver(DriverReport::Attached(id)) => {
                if let Some(record) = self.peerings.get_mut(id) {
                    record.attached = true;
                }
            }
            ControlInput::Driver(DriverReport::Closed { id, reason }) => {
                self.peering_closed(id, &reason, now)
            }
            ControlInput::Doorbell => {}
            ControlInput::Request(request) => self.answer(request, now),
            ControlInput::SessionEvent(event) => self.on_event(event),
            ControlInput::Shutdown => return false,
        }
        true
    }

    fn answer(&mut self, request: Request, now: Millis) {
        match request {
            Request::Send {
                dest,
                payload,
                reply,
            } => {
                let _ = reply.send(self.router.send(dest, &payload, now));
            }
            Request::Peers(reply) => {
                let _ = reply.send(self.router.peers());
            }
            Request::Coords(reply) => {
                let _ = reply.send(self.router.coords());
            }
            Request::Dump(reply) => {
                let mut dump = self.router.state_dump(now);
                self.add_forwarding_to_dump(&mut dump);
                let json = serde_json::to_string_pretty(&dump)
                    .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"));
                let _ = reply.send(json);
            }
            Request::Disconnect { port, reply } => {
                let found = self.peerings.id_of(port);
                if let Some(id) = found {
                    self.close(id, "closed by the application");
                    self.router.remove_peer(port, now);
                }
                let _ = reply.send(found.is_some());
            }
            Request::Subscribe(events) => self.subscribers.push(events),
            Request::Connect { uri, reply } => {
                let result = match &self.static_peers {
                    Some(peers) => peers.add(&uri),
                    None => uri.parse(),
                };
                let _ = reply.send(result);
            }
            Request::Embedding(request) => self.answer_embedding(request, now),
            Request::Refusals(reply) => {
                let _ = reply.send(self.counts.refusals());
            }
            Request::RouteToSessions(inlet) => self.sessions = Some(inlet),
            Request::Stats(reply) => {
                let _ = reply.send(self.stats());
            }
        }
    }

    /// Takes in a peering whose handshake succeeded, unless it is with
    /// ourselves or over a limit (then its stream is closed).
    fn add_peering(&mut self, peering: Peering, now: Millis) -> Result<(), PeerRefusal> {
        let Peering {
            stream,
            public_key,
            origin,
        } = peering;
        if public_key == self.router.public_key() {
            info!(uri = %origin.uri, "refusing a peering with ourselves");
            return Ok(());
        }
        let is_static = origin.zone == "static" && origin.outbound;
        if is_static && !self.is_static_peer(&origin.uri) {
            info!(uri = %origin.uri, "closing a peering with a static peer removed while dialling");
            return Ok(());
        }
        let remote = stream.peer_ip();
        let counted = self.counts.admit(remote, public_key, is_static)?;
        self.established
            .store(self.counts.total(), Ordering::Relaxed);
        let driver_index = self.choose_driver();
        let Some(driver) = self.drivers.get(driver_index) else {
            self.counts.release(counted);
            return Ok(());
        };
        let info = PeerInfo {
            key: public_key,
            peer_type: origin.peer_type,
            zone: origin.zone.clone(),
            uri: origin.uri.clone(),
        };
        let port = self.router.add_peer(info, now);
        let id = self.peerings.insert(PeeringRecord {
            port,
            driver: driver_index,
            uri: origin.uri.clone(),
            is_static,
            attached: false,
            backlog: VecDeque::new(),
            counted,
        });
        info!(port, peer = %public_key, uri = %origin.uri, zone = %origin.zone,
            outbound = origin.outbound, worker = driver_index, "peering added");
        let lease = self.fabric.lease(port);
        driver.send(DriverCommand::Attach { id, lease, stream });
        Ok(())
    }

    /// The driver for a new peering. While there are few peerings they all
    /// go to one worker: a frame crossing to another worker costs a copy, a
    /// wakeup and cache misses, more than a second core wins back when
    /// traffic enters on one peering and leaves on another. Past
    /// [`PACKED_PEERINGS`] per worker they spread to the least loaded,
    /// taking turns between equals.
    fn choose_driver(&mut self) -> usize {
        let load = self.peerings.per_driver(self.drivers.len());
        if let Some(index) = load.iter().position(|&n| n < PACKED_PEERINGS) {
            return index;
        }
        let start = self.next_driver % load.len().max(1);
        self.next_driver = self.next_driver.wrapping_add(1);
        let rotated = (start..load.len()).chain(0..start);
        rotated
            .min_by_key(|&index| load.get(index).copied().unwrap_or(usize::MAX))
            .unwrap_or(0)
    }

    /// A driver closed a peering on its own (end of stream, I/O error,
    /// broken framing).
    fn peering_closed(&mut self, id: PeeringId, reason: &CloseReason, now: Millis) {
        let Some(record) = self.forget(id) else {
            return;
        };
        info!(port = record.port, uri = %record.uri, %reason, "peering removed");
        self.router.remove_peer(record.port, now);
        self.redial(&record);
    }

    /// Forgets a peering: its record, its counts, its waiting frames.
    fn forget(&mut self, id: PeeringId) -> Option<PeeringRecord> {
        let record = self.peerings.remove(id)?;
        self.counts.release(record.counted);
        self.established
            .store(self.counts.total(), Ordering::Relaxed);
        self.frames.forget(record.port);
        Some(record)
    }

    /// Closes a peering the router or the application removed.
    pub(super) fn close(&mut self, id: PeeringId, reason: &str) {
        let Some(record) = self.forget(id) else {
            return;
        };
        info!(port = record.port, uri = %record.uri, %reason, "peering removed");
        // Before the router can give the port to another peering: what
        // this one still has queued must not pass for the next one's.
        self.fabric.unpublish(record.port);
        if let Some(driver) = self.drivers.get(record.driver) {
            driver.send(DriverCommand::Detach(id));
        }
        self.redial(&record);
    }

    fn redial(&self, record: &PeeringRecord) {
        if record.is_static {
            if let Some(peers) = &self.static_peers {
                peers.disconnected(&record.uri);
            }
        }
    }

    /// Takes the forwarding plane's protocol frames into the per-peering
    /// queues and hands the router a budget of them, round robin by
    /// peering; then delivers datagrams, runs the router's timers and
    /// carries out what it decided. Returns whether frames are left for
    /// another pass.
    fn service(&mut self) -> bool {
        let started = Instant::now();
        let now = io::now();
        self.doorbell.answer();
        while let Some(frame) = self.fabric.poll_control() {
            self.frames.push(frame.port, frame);
        }
        for _ in 0..FRAMES_PER_PASS {
            let Some((port, frame)) = self.frames.pop() else {
                break;
            };
            // An error removes the peer; its event closes the connection.
            let _ = self.router.handle_frame(port, &frame.frame, now);
            // Dropping it gives its bytes back to its peering's bound.
            drop(frame);
            if started.elapsed() >= PASS_BUDGET {
                break;
            }
        }
        while let Some(delivery) = self.fabric.poll_delivery() {
            self.deliver(Datagram {
                source: delivery.source,
                payload: delivery.payload,
            });
        }
        if self
            .activity_noted
            .is_none_or(|at| at.elapsed() >= ACTIVITY_EVERY)
        {
            self.note_activity();
            self.activity_noted = Some(Instant::now());
        }
        let due = self.next_timer.is_none_or(|at| now >= at);
        if due && self.timer_holdoff().is_zero() {
            self.router.handle_timeout(now);
            self.timers_ran = Some(Instant::now());
        }
        self.carry_out();
        self.next_timer = self.router.poll_timeout();
        !self.frames.is_empty()
    }

    /// How long until the router's timers may run again.
    fn timer_holdoff(&self) -> Duration {
        self.timers_ran.map_or(Duration::ZERO, |at| {
            TIMER_GRANULARITY.saturating_sub(at.elapsed())
        })
    }

    /// Tells the router when each peering last moved bytes.
    fn note_activity(&mut self) {
        let ports = self.fabric.ports();
        for (port, location) in ports.ports() {
            let counters = &location.counters;
            self.router
                .note_activity(port, false, true, counters.last_received());
            self.router
                .note_activity(port, true, false, counters.last_sent());
        }
    }
}
