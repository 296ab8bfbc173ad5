//! The event loop: opens connections on schedule, drives every one of them
//! on this thread with mio, and counts what happens to them.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use mio::{Events, Interest, Poll, Token};
use rand_core::OsRng;

use crate::conn::{Conn, Ending, Flushed, Role};
use crate::dial::start_connect;
use crate::memory;
use crate::report::{FloodCounts, HoldCounts, PeeringCounts, GAP_LIMIT_MS};
use crate::source::SourceAddresses;

/// How often handshake deadlines and keepalives are checked.
const TICK: Duration = Duration::from_millis(100);
/// Readiness events taken per poll.
const EVENTS_PER_POLL: usize = 1024;
/// Bytes read from a socket at once.
const READ_CHUNK: usize = 64 * 1024;
/// The gap between the daemon's frames a healthy peering stays under.
const GAP_LIMIT: Duration = Duration::from_millis(GAP_LIMIT_MS);

/// What to open, where from, how fast and for how long.
#[derive(Debug)]
pub struct Plan {
    /// The daemon's TCP listener.
    pub target: SocketAddr,
    /// Load peerings to open.
    pub peerings: u64,
    /// Load peerings opened per second.
    pub rate: f64,
    /// How long to hold everything open after the last load peering was
    /// started (from the start, when there are none).
    pub hold: Duration,
    /// Source addresses, one per connection; `None` leaves the choice to
    /// the kernel.
    pub sources: Option<SourceAddresses>,
    /// The one source address of every attack connection (held slots and
    /// flooders); `None`: they take theirs as load connections do.
    pub attack_source: Option<std::net::Ipv4Addr>,
    /// Time allowed from starting a connection to completing its
    /// handshake.
    pub handshake_timeout: Duration,
    /// Connections holding handshake slots, kept open throughout.
    pub hold_slots: u64,
    /// Bad-bootstrap flooders, kept connected throughout.
    pub flooders: u64,
    /// How often to print progress to stderr.
    pub progress_every: Duration,
    /// The daemon's process id, to show its memory in progress lines.
    pub daemon_pid: Option<u32>,
}

/// Everything counted in a run.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// The load peerings.
    pub peerings: PeeringCounts,
    /// Held handshake slots.
    pub hold: HoldCounts,
    /// Bad-bootstrap flooders.
    pub flood: FloodCounts,
    /// Seconds from the first load peering started to the last.
    pub open_seconds: f64,
    /// Seconds held after that.
    pub held_seconds: f64,
}

/// The connections and the loop that drives them. Dropping it closes every
/// connection.
pub struct Driver {
    plan: Plan,
    poll: Poll,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    released: Vec<usize>,
    wanting_turn: Vec<usize>,
    to_reopen: Vec<Role>,
    scratch: Vec<u8>,
    tally: Tally,
    start: Instant,
    last_open: Option<Instant>,
}

impl Driver {
    /// A driver for `plan`, with nothing open yet.
    pub fn new(plan: Plan) -> io::Result<Driver> {
        let mut tally = Tally::default();
        tally.hold.slots = plan.hold_slots;
        tally.flood.peerings = plan.flooders;
        Ok(Driver {
            plan,
            poll: Poll::new()?,
            conns: Vec::new(),
            free: Vec::new(),
            released: Vec::new(),
            wanting_turn: Vec::new(),
            to_reopen: Vec::new(),
            scratch: vec![0; READ_CHUNK],
            tally,
            start: Instant::now(),
            last_open: None,
        })
    }

    /// Opens the held slots and flooders, then the load peerings on
    /// schedule, and drives everything until the hold after the last one
    /// is over. Connections stay open until the driver is dropped.
    pub fn run(&mut self) -> io::Result<()> {
        self.start = Instant::now();
        for _ in 0..self.plan.hold_slots {
            self.open(Role::HoldSlot, self.start);
        }
        for _ in 0..self.plan.flooders {
            self.open(Role::Flood, self.start);
        }
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        let mut next_tick = self.start + TICK;
        let mut next_progress = self.start + self.plan.progress_every;
        loop {
            let now = Instant::now();
            self.open_due(now);
            let end = self.end();
            if end.is_some_and(|end| now >= end) {
                return Ok(());
            }
            let mut wake = next_tick.min(next_progress);
            if let Some(end) = end {
                wake = wake.min(end);
            }
            if let Some(due) = self.next_load_due() {
                wake = wake.min(due);
            }
            let timeout = if self.wanting_turn.is_empty() && self.to_reopen.is_empty() {
                wake.saturating_duration_since(now)
            } else {
                Duration::ZERO
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            let now = Instant::now();
            for event in &events {
                self.on_event(event.token().0, now);
            }
            for index in std::mem::take(&mut self.wanting_turn) {
                if let Some(conn) = self.conns.get_mut(index).and_then(Option::as_mut) {
                    let result = conn.on_turn(now);
                    self.after(index, result);
                }
            }
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK;
            }
            for role in std::mem::take(&mut self.to_reopen) {
                if role == Role::HoldSlot {
                    self.tally.hold.reopenings += 1;
                }
                self.open(role, now);
            }
            self.free.append(&mut self.released);
            if now >= next_progress {
                self.print_progress(now);
                next_progress = now + self.plan.progress_every;
            }
        }
    }

    /// The counts as of now: alive peerings and their largest gap, held
    /// slots, and load peerings whose handshake is still unfinished (as
    /// refused).
    pub fn finish(&mut self) -> Tally {
        let now = Instant::now();
        let mut tally = self.tally.clone();
        let mut largest_gap = Duration::ZERO;
        for conn in self.conns.iter().flatten() {
            match conn.role() {
                Role::Load if conn.is_established() => {
                    let gap = conn.largest_gap_until(now);
                    tally.peerings.alive_at_end += 1;
                    if gap >= GAP_LIMIT {
                        tally.peerings.gaps_over_limit += 1;
                    }
                    largest_gap = largest_gap.max(gap);
                }
                Role::Load => tally.peerings.refuse("unfinished at end".to_owned()),
                Role::HoldSlot if conn.is_holding() => tally.hold.held_at_end += 1,
                Role::HoldSlot | Role::Flood => {}
            }
        }
        tally.peerings.largest_gap_ms = u64::try_from(largest_gap.as_millis()).unwrap_or(u64::MAX);
        let last_open = self.last_open.unwrap_or(self.start);
        tally.open_seconds = last_open.duration_since(self.start).as_secs_f64();
        tally.held_seconds = now.saturating_duration_since(last_open).as_secs_f64();
        tally
    }

    /// When the run ends, once known: the hold after the last load peering
    /// was started.
    fn end(&self) -> Option<Instant> {
        if self.plan.peerings == 0 {
            return Some(self.start + self.plan.hold);
        }
        self.last_open.map(|last| last + self.plan.hold)
    }

    /// When the next load peering is due, if any is left.
    fn next_load_due(&self) -> Option<Instant> {
        let opened = self.tally.peerings.attempted;
        (opened < self.plan.peerings)
            .then(|| self.start + Duration::from_secs_f64(opened as f64 / self.plan.rate))
    }

    /// Starts every load peering that is due by `now`.
    fn open_due(&mut self, now: Instant) {
        while self.next_load_due().is_some_and(|due| due <= now) {
            self.tally.peerings.attempted += 1;
            self.open(Role::Load, now);
            if self.tally.peerings.attempted == self.plan.peerings {
                self.last_open = Some(now);
            }
        }
    }

    /// Starts one connection with a fresh key, from the next source
    /// address (an attack connection: from the attack source, if set).
    fn open(&mut self, role: Role, now: Instant) {
        let source = match (role, self.plan.attack_source) {
            (Role::HoldSlot | Role::Flood, Some(source)) => Some(source),
            _ => self
                .plan
                .sources
                .as_mut()
                .map(SourceAddresses::next_address),
        };
        let signer = SigningKey::generate(&mut OsRng);
        let mut conn = match start_connect(self.plan.target, source) {
            Ok(stream) => Conn::new(
                role,
                stream,
                &signer,
                now,
                now + self.plan.handshake_timeout,
            ),
            Err(error) => return self.count_ending(role, Ending::ConnectFailed(error.kind())),
        };
        let index = self.free.pop().unwrap_or(self.conns.len());
        let registered = self.poll.registry().register(
            conn.stream_mut(),
            Token(index),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(error) = registered {
            self.free.push(index);
            return self.count_ending(role, Ending::ConnectFailed(error.kind()));
        }
        match self.conns.get_mut(index) {
            Some(slot) => *slot = Some(conn),
            None => self.conns.push(Some(conn)),
        }
    }

    fn on_event(&mut self, index: usize, now: Instant) {
        if let Some(conn) = self.conns.get_mut(index).and_then(Option::as_mut) {
            let result = conn.on_ready(&mut self.scratch, now);
            self.after(index, result);
        }
    }

    fn tick(&mut self, now: Instant) {
        for index in 0..self.conns.len() {
            if let Some(conn) = self.conns.get_mut(index).and_then(Option::as_mut) {
                let result = conn.on_tick(now);
                self.after(index, result);
            }
        }
    }

    /// Counts what a connection's turn did, and closes it if it ended.
    fn after(&mut self, index: usize, result: Result<Flushed, Ending>) {
        let Some(conn) = self.conns.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        let role = conn.role();
        if conn.take_new_acceptance() {
            match role {
                Role::Load => self.tally.peerings.accepted += 1,
                Role::Flood => self.tally.flood.handshakes += 1,
                Role::HoldSlot => {}
            }
        }
        self.tally.flood.frames_sent += conn.take_frames_written();
        match result {
            Ok(Flushed::MoreToSend) => self.wanting_turn.push(index),
            Ok(Flushed::Drained | Flushed::Blocked) => {}
            Err(ending) => {
                if let Some(mut conn) = self.conns.get_mut(index).and_then(Option::take) {
                    let _ = self.poll.registry().deregister(conn.stream_mut());
                }
                self.released.push(index);
                self.count_ending(role, ending);
            }
        }
    }

    /// Counts how a connection ended; held slots and flooders are opened
    /// again.
    fn count_ending(&mut self, role: Role, ending: Ending) {
        match (role, ending) {
            (Role::Load, Ending::ClosedAfterHandshake) => self.tally.peerings.closed_by_daemon += 1,
            (Role::Load, Ending::BadFrames) => self.tally.peerings.bad_frames_from_daemon += 1,
            (Role::Load, ending) => self.tally.peerings.refuse(ending.label()),
            (Role::HoldSlot, _) => self.to_reopen.push(role),
            (Role::Flood, Ending::ClosedAfterHandshake | Ending::BadFrames) => {
                self.tally.flood.disconnections += 1;
                self.to_reopen.push(role);
            }
            (Role::Flood, _) => {
                self.tally.flood.refused += 1;
                self.to_reopen.push(role);
            }
        }
    }

    fn print_progress(&self, now: Instant) {
        let alive = self
            .conns
            .iter()
            .flatten()
            .filter(|c| c.role() == Role::Load && c.is_established())
            .count();
        let p = &self.tally.peerings;
        let mut line = format!(
            "peerload {:>6.1} s: attempted {}, accepted {}, refused {}, alive {}, closed by daemon {}",
            now.duration_since(self.start).as_secs_f64(),
            p.attempted,
            p.accepted,
            p.refused,
            alive,
            p.closed_by_daemon
        );
        if self.plan.hold_slots > 0 {
            line += &format!("; slot reopenings {}", self.tally.hold.reopenings);
        }
        if self.plan.flooders > 0 {
            line += &format!(
                "; bad bootstraps {}, flood disconnections {}",
                self.tally.flood.frames_sent, self.tally.flood.disconnections
            );
        }
        if let Some(resident) = self.plan.daemon_pid.and_then(|pid| memory::read(pid).ok()) {
            line += &format!("; daemon RSS {} KiB", resident.now_kib);
        }
        eprintln!("{line}");
    }
}
