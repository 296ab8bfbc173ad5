//! One connection to the daemon, driven by readiness events and ticks: a
//! load peering, a held handshake slot, or a bad-bootstrap flooder.

use std::io::{ErrorKind, Read, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use mio::net::TcpStream;
use pinecone_engine::control::time::KEEPALIVE_INTERVAL;
use pinecone_engine::wire::{Deframer, Frame, Handshake, PublicKey, HANDSHAKE_LEN};

use crate::frames::{announced_root, bad_bootstraps, keepalive, Root};
use crate::gaps::FrameGaps;

/// Bad bootstraps built at once for a flooder.
const FLOOD_BATCH_FRAMES: usize = 32;
/// Batches a flooder writes per turn before letting other connections run.
const FLOOD_BATCHES_PER_TURN: usize = 8;

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A peering that completes the handshake and keeps itself alive.
    Load,
    /// A connection that never sends its handshake, holding one of the
    /// daemon's handshake slots until the daemon closes it.
    HoldSlot,
    /// A peering that completes the handshake, then writes bootstraps with
    /// bad signatures as fast as the daemon reads them.
    Flood,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The TCP connection could not be set up.
    ConnectFailed(ErrorKind),
    /// The daemon closed the stream before the handshake completed.
    ClosedBeforeHandshake,
    /// A read or write failed before the handshake completed.
    FailedBeforeHandshake(ErrorKind),
    /// The handshake did not complete before the deadline.
    HandshakeTimedOut,
    /// The daemon's handshake did not verify.
    BadHandshake,
    /// The daemon closed or reset the stream after the handshake.
    ClosedAfterHandshake,
    /// The daemon sent bytes that are not well-formed frames.
    BadFrames,
}

impl Ending {
    /// A short name for counting endings of one kind together.
    pub fn label(self) -> String {
        match self {
            Ending::ConnectFailed(kind) => format!("connect: {kind}"),
            Ending::ClosedBeforeHandshake => "closed".to_owned(),
            Ending::FailedBeforeHandshake(
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe,
            ) => "reset".to_owned(),
            Ending::FailedBeforeHandshake(kind) => format!("handshake: {kind}"),
            Ending::HandshakeTimedOut => "handshake timeout".to_owned(),
            Ending::BadHandshake => "bad handshake".to_owned(),
            Ending::ClosedAfterHandshake => "closed after handshake".to_owned(),
            Ending::BadFrames => "bad frames from the daemon".to_owned(),
        }
    }
}

/// What a connection left unwritten after a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    /// Everything queued is written.
    Drained,
    /// The socket is full: the next writable event resumes.
    Blocked,
    /// A flooder used its turn with the socket still accepting: it wants
    /// another turn soon, without waiting for an event.
    MoreToSend,
}

#[derive(Debug)]
enum Phase {
    /// The TCP connect is under way.
    Connecting,
    /// Our handshake is queued; theirs is arriving.
    Handshaking {
        theirs: [u8; HANDSHAKE_LEN],
        got: usize,
    },
    /// Frames flow both ways.
    Established,
    /// Connected, and silent on purpose.
    Holding,
}

/// A flooder's state: the root its bootstraps must name, and the frames
/// built for it.
#[derive(Debug, Default)]
struct Flooder {
    root: Option<Root>,
    batch: Vec<u8>,
    batch_root: Option<Root>,
    frames_queued: u64,
}

/// One connection to the daemon.
#[derive(Debug)]
pub struct Conn {
    role: Role,
    stream: TcpStream,
    key: PublicKey,
    phase: Phase,
    deadline: Instant,
    out: Vec<u8>,
    out_pos: usize,
    last_sent: Instant,
    deframer: Deframer,
    gaps: FrameGaps,
    flooder: Option<Flooder>,
    newly_accepted: bool,
    frames_written: u64,
}

impl Conn {
    /// A connection whose connect was started on `stream`, as `signer`,
    /// that must have completed its handshake (or, for a held slot, its
    /// TCP connect) by `deadline`.
    pub fn new(
        role: Role,
        stream: TcpStream,
        signer: &SigningKey,
        now: Instant,
        deadline: Instant,
    ) -> Conn {
        let out = match role {
            Role::Load | Role::Flood => Handshake::new(signer).as_bytes().to_vec(),
            Role::HoldSlot => Vec::new(),
        };
        Conn {
            role,
            stream,
            key: PublicKey::of(signer),
            phase: Phase::Connecting,
            deadline,
            out,
            out_pos: 0,
            last_sent: now,
            deframer: Deframer::new(),
            gaps: FrameGaps::starting(now),
            flooder: (role == Role::Flood).then(Flooder::default),
            newly_accepted: false,
            frames_written: 0,
        }
    }

    /// What the connection is for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The socket, to register for readiness events.
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Whether the handshake has completed and the daemon has not closed
    /// the peering.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Established)
    }

    /// Whether this is a held slot whose TCP connect completed.
    pub fn is_holding(&self) -> bool {
        matches!(self.phase, Phase::Holding)
    }

    /// The largest gap between frames from the daemon, counting the
    /// silence up to `end`.
    pub fn largest_gap_until(&self, end: Instant) -> std::time::Duration {
        self.gaps.largest_until(end)
    }

    /// Whether the handshake completed since the last call.
    pub fn take_new_acceptance(&mut self) -> bool {
        std::mem::take(&mut self.newly_accepted)
    }

    /// Bad bootstraps wholly written since the last call.
    pub fn take_frames_written(&mut self) -> u64 {
        std::mem::take(&mut self.frames_written)
    }

    /// Handles a readiness event: finishes the connect, reads everything
    /// waiting, then writes what is queued.
    pub fn on_ready(&mut self, scratch: &mut [u8], now: Instant) -> Result<Flushed, Ending> {
        if matches!(self.phase, Phase::Connecting) && !self.check_connected()? {
            return Ok(Flushed::Drained);
        }
        self.read_all(scratch, now)?;
        self.flush(now)
    }

    /// Handles the passing of time: the handshake deadline and keepalives.
    pub fn on_tick(&mut self, now: Instant) -> Result<Flushed, Ending> {
        match self.phase {
            Phase::Connecting if now >= self.deadline => {
                Err(Ending::ConnectFailed(ErrorKind::TimedOut))
            }
            Phase::Handshaking { .. } if now >= self.deadline => Err(Ending::HandshakeTimedOut),
            Phase::Established
                if self.out_pos == self.out.len()
                    && now.saturating_duration_since(self.last_sent) >= KEEPALIVE_INTERVAL =>
            {
                self.out.extend_from_slice(&keepalive());
                self.flush(now)
            }
            _ => Ok(Flushed::Drained),
        }
    }

    /// Another turn for a flooder that wanted one.
    pub fn on_turn(&mut self, now: Instant) -> Result<Flushed, Ending> {
        self.flush(now)
    }

    /// Whether the connect has completed; moves on to the handshake (or to
    /// holding) when it has.
    fn check_connected(&mut self) -> Result<bool, Ending> {
        match self.stream.take_error() {
            Ok(Some(error)) | Err(error) => return Err(Ending::ConnectFailed(error.kind())),
            Ok(None) => {}
        }
        match self.stream.peer_addr() {
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::NotConnected => return Ok(false),
            Err(error) => return Err(Ending::ConnectFailed(error.kind())),
        }
        self.phase = match self.role {
            Role::HoldSlot => Phase::Holding,
            Role::Load | Role::Flood => Phase::Handshaking {
                theirs: [0; HANDSHAKE_LEN],
                got: 0,
            },
        };
        Ok(true)
    }

    /// How the connection ended when the stream closed (`None`) or failed.
    fn ended(&self, error: Option<ErrorKind>) -> Ending {
        match (&self.phase, error) {
            (Phase::Connecting, error) => {
                Ending::ConnectFailed(error.unwrap_or(ErrorKind::UnexpectedEof))
            }
            (Phase::Handshaking { .. }, None) => Ending::ClosedBeforeHandshake,
            (Phase::Handshaking { .. }, Some(kind)) => Ending::FailedBeforeHandshake(kind),
            (Phase::Established | Phase::Holding, _) => Ending::ClosedAfterHandshake,
        }
    }

    /// Reads until the socket has nothing more.
    fn read_all(&mut self, scratch: &mut [u8], now: Instant) -> Result<(), Ending> {
        loop {
            match self.stream.read(scratch) {
                Ok(0) => return Err(self.ended(None)),
                Ok(n) => self.take_bytes(scratch.get(..n).unwrap_or_default(), now)?,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(self.ended(Some(error.kind()))),
            }
        }
    }

    /// Takes bytes from the daemon: its handshake, then frames.
    fn take_bytes(&mut self, mut bytes: &[u8], now: Instant) -> Result<(), Ending> {
        if let Phase::Handshaking { theirs, got } = &mut self.phase {
            let (head, rest) = bytes.split_at(bytes.len().min(HANDSHAKE_LEN - *got));
            if let Some(slot) = theirs.get_mut(*got..*got + head.len()) {
                slot.copy_from_slice(head);
            }
            *got += head.len();
            if *got < HANDSHAKE_LEN {
                return Ok(());
            }
            Handshake::from_bytes(theirs.as_slice())
                .and_then(|handshake| handshake.verify(&self.key))
                .map_err(|_| Ending::BadHandshake)?;
            self.phase = Phase::Established;
            self.gaps = FrameGaps::starting(now);
            self.newly_accepted = true;
            bytes = rest;
        }
        match self.phase {
            Phase::Established => self.take_frames(bytes, now),
            Phase::Connecting | Phase::Handshaking { .. } | Phase::Holding => Ok(()),
        }
    }

    /// Deframes and checks what the daemon sent; a flooder also learns the
    /// root its bootstraps must name.
    fn take_frames(&mut self, bytes: &[u8], now: Instant) -> Result<(), Ending> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.deframer.push(bytes);
        let mut frames = 0u64;
        while let Some(bytes) = self.deframer.next_frame().map_err(|_| Ending::BadFrames)? {
            let frame = Frame::parse(bytes).map_err(|_| Ending::BadFrames)?;
            frames += 1;
            if let Some(flooder) = &mut self.flooder {
                if let Some(root) = announced_root(&frame) {
                    flooder.root = Some(root);
                }
            }
        }
        if frames > 0 {
            self.gaps.frames_at(now);
        }
        Ok(())
    }

    /// Writes what is queued until the socket is full; a flooder queues
    /// more bad bootstraps, for at most one turn.
    fn flush(&mut self, now: Instant) -> Result<Flushed, Ending> {
        if matches!(self.phase, Phase::Connecting) {
            return Ok(Flushed::Drained);
        }
        let mut batches = 0;
        loop {
            if self.out_pos == self.out.len() {
                self.out.clear();
                self.out_pos = 0;
                if let Some(flooder) = &mut self.flooder {
                    self.frames_written += std::mem::take(&mut flooder.frames_queued);
                }
                if batches == FLOOD_BATCHES_PER_TURN {
                    return Ok(Flushed::MoreToSend);
                }
                if !self.queue_flood_batch() {
                    return Ok(Flushed::Drained);
                }
                batches += 1;
            }
            let pending = self.out.get(self.out_pos..).unwrap_or_default();
            match self.stream.write(pending) {
                Ok(0) => return Err(self.ended(Some(ErrorKind::WriteZero))),
                Ok(n) => {
                    self.out_pos += n;
                    self.last_sent = now;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(self.ended(Some(error.kind()))),
            }
        }
    }

    /// Queues a batch of bad bootstraps, when this is an established
    /// flooder that knows the daemon's root. Returns whether it did.
    fn queue_flood_batch(&mut self) -> bool {
        if !self.is_established() {
            return false;
        }
        let Some(flooder) = &mut self.flooder else {
            return false;
        };
        let Some(root) = flooder.root else {
            return false;
        };
        if flooder.batch_root != Some(root) {
            flooder.batch = bad_bootstraps(self.key, root, unix_millis(), FLOOD_BATCH_FRAMES);
            flooder.batch_root = Some(root);
        }
        self.out.extend_from_slice(&flooder.batch);
        flooder.frames_queued = FLOOD_BATCH_FRAMES as u64;
        true
    }
}

/// Milliseconds since the Unix epoch: the sequence a bootstrap carries.
fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{SocketAddr, TcpListener, TcpStream as StdStream};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    use mio::{Events, Interest, Poll, Token};
    use pinecone_engine::wire::{AnnouncementFrame, AnnouncementRepr, Deframer, RootPayload};

    use crate::dial::start_connect;

    /// A one-connection stand-in for the daemon, running `script` on the
    /// accepted stream.
    fn fake_daemon(
        script: impl FnOnce(StdStream) + Send + 'static,
    ) -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let address = listener.local_addr().expect("address");
        let thread = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            script(stream);
        });
        (address, thread)
    }

    fn daemon_key() -> SigningKey {
        SigningKey::from_bytes(&[0xd0; 32])
    }

    /// Reads our handshake off the stream.
    fn read_handshake(stream: &mut StdStream) -> Handshake {
        let mut ours = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut ours).expect("our handshake");
        Handshake::from_bytes(&ours).expect("104 bytes")
    }

    /// A connection to `address` with `role` and a handshake deadline
    /// `patience` from now, registered with a new poller.
    fn open(role: Role, address: SocketAddr, patience: Duration) -> (Conn, Poll) {
        let poll = Poll::new().expect("poll");
        let now = Instant::now();
        let stream = start_connect(address, None).expect("connect");
        let mut conn = Conn::new(
            role,
            stream,
            &SigningKey::from_bytes(&[0x11; 32]),
            now,
            now + patience,
        );
        poll.registry()
            .register(
                conn.stream_mut(),
                Token(0),
                Interest::READABLE | Interest::WRITABLE,
            )
            .expect("register");
        (conn, poll)
    }

    /// Drives `conn` until `done` says so or it ends; fails after 5 s.
    fn drive(conn: &mut Conn, poll: &mut Poll, done: impl Fn(&Conn) -> bool) -> Result<(), Ending> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut events = Events::with_capacity(8);
        let mut scratch = vec![0u8; 4096];
        while !done(conn) {
            assert!(Instant::now() < deadline, "nothing happened in time");
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .expect("poll");
            if !events.is_empty() {
                conn.on_ready(&mut scratch, Instant::now())?;
            }
            conn.on_tick(Instant::now())?;
            if conn.flooder.is_some() && conn.is_established() {
                conn.on_turn(Instant::now())?;
            }
        }
        Ok(())
    }

    #[test]
    fn a_daemon_closing_before_its_handshake_is_counted_as_closed() {
        let (address, daemon) = fake_daemon(|mut stream| {
            read_handshake(&mut stream);
        });
        let (mut conn, mut poll) = open(Role::Load, address, Duration::from_secs(5));
        let ended = drive(&mut conn, &mut poll, |_| false).expect_err("ends");
        assert_eq!(ended, Ending::ClosedBeforeHandshake);
        assert_eq!(ended.label(), "closed");
        assert!(!conn.take_new_acceptance());
        daemon.join().expect("daemon");
    }

    #[test]
    fn a_handshake_that_does_not_verify_is_refused() {
        let (address, daemon) = fake_daemon(|mut stream| {
            read_handshake(&mut stream);
            let mut forged = *Handshake::new(&daemon_key()).as_bytes();
            forged[50] ^= 1;
            stream.write_all(&forged).expect("write");
            thread::sleep(Duration::from_millis(200));
        });
        let (mut conn, mut poll) = open(Role::Load, address, Duration::from_secs(5));
        let ended = drive(&mut conn, &mut poll, |_| false).expect_err("ends");
        assert_eq!(ended, Ending::BadHandshake);
        daemon.join().expect("daemon");
    }

    #[test]
    fn a_silent_daemon_runs_out_the_handshake_deadline() {
        let (address, daemon) = fake_daemon(|mut stream| {
            read_handshake(&mut stream);
            thread::sleep(Duration::from_millis(500));
        });
        let (mut conn, mut poll) = open(Role::Load, address, Duration::from_millis(200));
        let ended = drive(&mut conn, &mut poll, |_| false).expect_err("ends");
        assert_eq!(ended, Ending::HandshakeTimedOut);
        daemon.join().expect("daemon");
    }

    #[test]
    fn an_accepted_peering_reads_frames_until_the_daemon_closes_it() {
        let (address, daemon) = fake_daemon(|mut stream| {
            let ours = read_handshake(&mut stream);
            assert!(ours.verify(&PublicKey::of(&daemon_key())).is_ok());
            stream
                .write_all(Handshake::new(&daemon_key()).as_bytes())
                .expect("handshake");
            thread::sleep(Duration::from_millis(300));
            stream.write_all(&keepalive()).expect("keepalive");
            thread::sleep(Duration::from_millis(100));
        });
        let (mut conn, mut poll) = open(Role::Load, address, Duration::from_secs(5));
        drive(&mut conn, &mut poll, Conn::is_established).expect("accepted");
        assert!(conn.take_new_acceptance());
        assert!(!conn.take_new_acceptance(), "reported once");
        let established = Instant::now();
        let ended = drive(&mut conn, &mut poll, |_| false).expect_err("ends");
        assert_eq!(ended, Ending::ClosedAfterHandshake);
        // The keepalive came about 300 ms after the handshake, then
        // silence until the close about 100 ms later.
        let gap = conn.largest_gap_until(established);
        assert!(
            gap >= Duration::from_millis(250) && gap < Duration::from_secs(2),
            "{gap:?}"
        );
        daemon.join().expect("daemon");
    }

    #[test]
    fn a_daemon_sending_garbage_after_the_handshake_is_cut_off() {
        let (address, daemon) = fake_daemon(|mut stream| {
            read_handshake(&mut stream);
            stream
                .write_all(Handshake::new(&daemon_key()).as_bytes())
                .expect("handshake");
            stream.write_all(b"not a frame").expect("garbage");
            thread::sleep(Duration::from_millis(200));
        });
        let (mut conn, mut poll) = open(Role::Load, address, Duration::from_secs(5));
        let ended = drive(&mut conn, &mut poll, |_| false).expect_err("ends");
        assert_eq!(ended, Ending::BadFrames);
        daemon.join().expect("daemon");
    }

    #[test]
    fn a_flooder_names_the_announced_root_in_its_bad_bootstraps() {
        let root = SigningKey::from_bytes(&[0xee; 32]);
        let root_key = PublicKey::of(&root);
        let (address, daemon) = fake_daemon(move |mut stream| {
            let ours = read_handshake(&mut stream).public_key();
            stream
                .write_all(Handshake::new(&daemon_key()).as_bytes())
                .expect("handshake");
            let mut repr = AnnouncementRepr::new_root(root_key, 9);
            repr.sign_and_append(1, &root).expect("sign");
            let mut payload = vec![0u8; repr.encoded_len()];
            repr.emit(&mut payload).expect("payload");
            let mut frame = vec![0u8; AnnouncementFrame::encoded_len(payload.len())];
            AnnouncementFrame::emit(&payload, &mut frame).expect("frame");
            stream.write_all(&frame).expect("announce");
            let mut deframer = Deframer::new();
            let mut bootstraps = 0;
            let mut chunk = [0u8; 4096];
            while bootstraps < 100 {
                let n = stream.read(&mut chunk).expect("read");
                assert!(n > 0, "the flooder stopped");
                deframer.push(&chunk[..n]);
                while let Some(bytes) = deframer.next_frame().expect("frames") {
                    let Ok(Frame::Bootstrap(bootstrap)) = Frame::parse(bytes) else {
                        continue;
                    };
                    assert_eq!(bootstrap.dest_key(), ours);
                    let signed = RootPayload::parse(bootstrap.payload()).expect("payload");
                    assert_eq!((signed.root(), signed.root_seq()), (root_key, 9));
                    assert!(!signed.verify(&ours));
                    bootstraps += 1;
                }
            }
        });
        let (mut conn, mut poll) = open(Role::Flood, address, Duration::from_secs(5));
        let mut written = 0;
        let ended = loop {
            match drive(&mut conn, &mut poll, |c| c.frames_written > 0) {
                Ok(()) => written += conn.take_frames_written(),
                Err(ending) => break ending,
            }
        };
        assert_eq!(ended, Ending::ClosedAfterHandshake);
        assert!(written >= FLOOD_BATCH_FRAMES as u64, "{written} frames");
        daemon.join().expect("daemon");
    }
}
