//! The io_uring driver: one thread per forwarding worker, one ring per
//! thread, and as much of the data path on the ring as the kernel allows
//! (each feature is probed when the ring is set up, see
//! [`Features`]):
//!
//! - receiving: a multishot receive per peering into a ring of buffers the
//!   driver's peerings share ([`super::uring_recv`]); without it, multishot
//!   polls say which sockets are readable and reads are `read(2)`;
//! - sending: every peering's vectored write of a pass in the pass's one
//!   submission ([`super::uring_send`]); without it, `sendmsg(2)`.
//!
//! Either way an eventfd, polled on the ring, wakes the thread.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use core_affinity::CoreId;
use io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};
use pinecone_engine::forward::Fabric;
use rustix::event::{eventfd, EventfdFlags};
use tracing::{debug, warn};

use super::affinity::pin_current;
use super::buf_ring::{BufRing, BUFFERS, BUFFER_LEN};
use super::command::CloseReason;
use super::core::{DriverCore, Readiness, WriteOutcome};
use super::handle::{DriverHandle, DriverHooks, Wake};
use super::uring_recv::{Arrival, Inboxes, BUFFER_GROUP, CANCEL_KIND, KIND_MASK, RECEIVE_KIND};
use super::uring_send::{Sends, SEND_KIND};
use crate::peering::PeerStream;

/// Submission queue entries per ring (the completion queue has twice as
/// many).
const RING_ENTRIES: u32 = 256;
/// The user data of the wakeup eventfd's poll.
const WAKE_TOKEN: u64 = 0;
/// The kind bits of a peering's readiness poll (without multishot
/// receives): none, the user data is the token itself.
const POLL_KIND: u64 = 0;
/// The kind bits of a one-shot poll for writability after a full socket.
const WRITABLE_KIND: u64 = 3 << 60;
/// How long a stopping driver waits for the kernel to end its receives
/// before it gives up on the buffer ring's memory (leaving it mapped).
const STOP_PATIENCE: Duration = Duration::from_secs(2);

// poll(2) event bits (the Linux ABI values).
const POLLIN: u32 = 0x001;
const POLLOUT: u32 = 0x004;
const POLLERR: u32 = 0x008;
const POLLHUP: u32 = 0x010;
const POLLRDHUP: u32 = 0x2000;
/// `ECANCELED`: a poll ended by its removal.
const ECANCELED: i32 = 125;

/// Whether this kernel lets us set up an io_uring.
///
/// The probe runs on a thread of its own, so that no io_uring state is
/// left attached to the caller's thread.
pub(crate) fn uring_available() -> io::Result<()> {
    thread::spawn(|| IoUring::new(8).map(drop))
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the io_uring probe panicked")))
}

/// What this kernel's io_uring does for the data path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Features {
    /// Task work runs only when the driver asks for completions (Linux
    /// 6.1: `DEFER_TASKRUN`), so arriving bytes never interrupt a round.
    pub(crate) deferred_task_work: bool,
    /// Multishot receives into a provided buffer ring (buffer rings since
    /// Linux 5.19, multishot receives since 6.0).
    pub(crate) multishot_receive: bool,
    /// `SENDMSG` requests (Linux 5.3), for sends batched per pass.
    pub(crate) batched_send: bool,
}

/// The ring and what the driver keeps on it.
struct Ring {
    /// Declared first, so that it is dropped (and its requests with it)
    /// before the buffers below are unmapped.
    ring: IoUring,
    /// Requests built this pass, not yet on the submission queue.
    queue: Vec<squeue::Entry>,
    receiving: Option<Receiving>,
    sends: Option<Sends>,
}

/// The multishot receive side.
struct Receiving {
    inboxes: Inboxes,
    buffers: BufRing,
}

impl Ring {
    /// Sets up a ring with the best task-work mode the kernel has, and
    /// probes the rest.
    fn new() -> io::Result<(Ring, Features)> {
        let (ring, deferred) = match IoUring::builder()
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(RING_ENTRIES)
        {
            Ok(ring) => (ring, true),
            Err(_) => match IoUring::builder()
                .setup_coop_taskrun()
                .setup_taskrun_flag()
                .build(RING_ENTRIES)
            {
                Ok(ring) => (ring, false),
                Err(_) => (IoUring::new(RING_ENTRIES)?, false),
            },
        };
        let mut probe = Probe::new();
        let probed = ring.submitter().register_probe(&mut probe).is_ok();
        let batched_send = probed && probe.is_supported(opcode::SendMsg::CODE);
        let mut ring = Ring {
            ring,
            queue: Vec::new(),
            receiving: None,
            sends: batched_send.then(Sends::default),
        };
        let receive = probed && probe.is_supported(opcode::RecvMulti::CODE);
        if receive {
            match ring.start_receiving() {
                Ok(receiving) => ring.receiving = Some(receiving),
                Err(error) => debug!(%error, "no multishot receives on this kernel"),
            }
        }
        let features = Features {
            deferred_task_work: deferred,
            multishot_receive: ring.receiving.is_some(),
            batched_send,
        };
        Ok((ring, features))
    }

    /// Registers a buffer ring and checks, on a socket pair, that a
    /// multishot receive takes a buffer from it and stays armed.
    fn start_receiving(&mut self) -> io::Result<Receiving> {
        let mut buffers = BufRing::new(BUFFERS, BUFFER_LEN)?;
        buffers.register(&self.ring.submitter(), BUFFER_GROUP)?;
        let (ours, theirs) = UnixStream::pair()?;
        let probe_data = RECEIVE_KIND;
        let entry = opcode::RecvMulti::new(types::Fd(ours.as_raw_fd()), BUFFER_GROUP)
            .build()
            .user_data(probe_data);
        self.push_and_submit(&entry)?;
        rustix::io::write(&theirs, b"?")?;
        let (result, flags) = self.wait_for(probe_data)?;
        if let Some(id) = cqueue::buffer_select(flags) {
            buffers.taken();
            buffers.recycle(id);
        }
        if result != 1 || !cqueue::more(flags) {
            let _ = self.ring.submitter().unregister_buf_ring(BUFFER_GROUP);
            return Err(io::Error::from_raw_os_error(-result.min(0)));
        }
        let cancel = opcode::AsyncCancel::new(probe_data)
            .build()
            .user_data(CANCEL_KIND);
        self.push_and_submit(&cancel)?;
        loop {
            let (_, flags) = self.wait_for(probe_data)?;
            if let Some(id) = cqueue::buffer_select(flags) {
                buffers.taken();
                buffers.recycle(id);
            }
            if !cqueue::more(flags) {
                break;
            }
        }
        Ok(Receiving {
            inboxes: Inboxes::default(),
            buffers,
        })
    }

    /// Waits for the next completion with user data `data` (others are
    /// dropped: nothing else is in flight while probing).
    fn wait_for(&mut self, data: u64) -> io::Result<(i32, u32)> {
        loop {
            self.ring.submit_and_wait(1)?;
            let found = self
                .ring
                .completion()
                .find(|c| c.user_data() == data)
                .map(|c| (c.result(), c.flags()));
            if let Some(found) = found {
                return Ok(found);
            }
        }
    }

    /// Puts `entry` on the submission queue and submits it at once.
    fn push_and_submit(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        self.queue.push(entry.clone());
        self.submit_queued()
    }

    /// Moves the requests built so far onto the submission queue, then
    /// submits them, so that each reaches the kernel while the descriptor
    /// it names is open.
    fn submit_queued(&mut self) -> io::Result<()> {
        self.push_queued()?;
        self.ring.submit()?;
        Ok(())
    }

    fn push_queued(&mut self) -> io::Result<()> {
        for entry in self.queue.drain(..) {
            if self.ring.submission().is_full() {
                self.ring.submit()?;
            }
            // SAFETY: the driver's requests point at memory that outlives
            // them: poll, receive and cancel requests at none of ours (a
            // receive's buffers belong to the ring of buffers, which stays
            // mapped until no receive is left); a send at its message,
            // boxed in `Sends`, and at the worker's output queue, neither
            // of which changes before its completion is taken in (see
            // `uring_send`).
            #[allow(unsafe_code)]
            let pushed = unsafe { self.ring.submission().push(&entry) };
            pushed.map_err(|_| io::Error::other("io_uring submission queue full"))?;
        }
        Ok(())
    }

    fn poll(&mut self, fd: RawFd, events: u32, data: u64, multishot: bool) -> io::Result<()> {
        let entry = opcode::PollAdd::new(types::Fd(fd), events)
            .multi(multishot)
            .build()
            .user_data(data);
        self.push_and_submit(&entry)
    }

    /// Requests whose last completion is still to come and that point at
    /// memory of ours: receives and sends.
    fn in_flight(&self) -> usize {
        self.receiving.as_ref().map_or(0, |r| r.inboxes.in_flight())
            + self.sends.as_ref().map_or(0, Sends::in_flight)
    }
}

impl Readiness for Ring {
    fn register(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        match &mut self.receiving {
            Some(receiving) => {
                receiving.inboxes.attach(fd, token, &mut self.queue);
                self.submit_queued()
            }
            None => self.poll(fd, POLLIN | POLLOUT | POLLRDHUP, POLL_KIND | token, true),
        }
    }

    fn deregister(&mut self, _fd: RawFd, token: u64) {
        match &mut self.receiving {
            Some(receiving) => {
                let Receiving { inboxes, buffers } = receiving;
                inboxes.detach(token, buffers, &mut self.queue);
            }
            None => self.queue.push(
                opcode::PollRemove::new(POLL_KIND | token)
                    .build()
                    .user_data(CANCEL_KIND | token),
            ),
        }
        // A one-shot writability poll may be armed too.
        self.queue.push(
            opcode::PollRemove::new(WRITABLE_KIND | token)
                .build()
                .user_data(CANCEL_KIND | token),
        );
        if let Err(error) = self.submit_queued() {
            warn!(%error, "cannot cancel a peering's io_uring requests");
        }
    }

    fn read(
        &mut self,
        stream: &PeerStream,
        token: u64,
        buffer: &mut [u8],
    ) -> Result<Option<usize>, CloseReason> {
        match &mut self.receiving {
            Some(Receiving { inboxes, buffers }) => inboxes.read(token, buffer, buffers),
            None => super::connection::read_socket(stream, buffer),
        }
    }

    fn write(&mut self, fd: RawFd, token: u64, parts: &[IoSlice<'_>]) -> WriteOutcome {
        match &mut self.sends {
            Some(sends) => {
                sends.queue(fd, token, parts, &mut self.queue);
                WriteOutcome::Queued
            }
            None => {
                // SAFETY: `fd` is the socket of a connection the caller
                // holds open for the duration of this call.
                #[allow(unsafe_code)]
                let socket = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                let result = super::sendmsg::send_vectored(socket, parts);
                let full = matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
                if full && self.receiving.is_some() {
                    // No readiness poll is armed: ask for one, once.
                    if let Err(error) = self.poll(fd, POLLOUT, WRITABLE_KIND | token, false) {
                        warn!(%error, "cannot poll a full socket for writability");
                    }
                }
                WriteOutcome::Done(result)
            }
        }
    }
}

/// Starts the io_uring driver of worker `index` of `fabric` on a new
/// thread, pinned to `core` if one is given.
pub(crate) fn spawn_uring(
    fabric: &Arc<Fabric>,
    index: usize,
    hooks: DriverHooks,
    core: Option<CoreId>,
) -> io::Result<DriverHandle> {
    let bell: Arc<OwnedFd> = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
    let worker = fabric
        .worker(index)
        .ok_or_else(|| io::Error::other(format!("worker {index} is missing or taken")))?;
    let ringing = Arc::clone(&bell);
    let wake: Wake = Arc::new(move || {
        // A full counter (never reached in practice) still wakes the thread.
        let _ = rustix::io::write(ringing.as_fd(), &1u64.to_ne_bytes());
    });
    let doorbell = Arc::clone(&wake);
    fabric
        .set_waker(index, Box::new(move || doorbell()))
        .map_err(|_| io::Error::other(format!("worker {index} already has a waker")))?;
    let (commands, inbox) = crossbeam_channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let pinned = core;
    let core = DriverCore::new(worker, inbox, hooks);
    let stopping = Arc::clone(&stop);
    // The ring is set up and every request submitted on the driver's own
    // thread: completions are delivered as task work to the submitting
    // thread, and would interrupt the blocking calls of any other.
    let (started, start) = crossbeam_channel::bounded(1);
    let thread = thread::Builder::new()
        .name(format!("pinecone-uring-{index}"))
        .spawn(move || {
            pin_current(pinned);
            let ring = Ring::new().and_then(|(mut ring, features)| {
                ring.poll(bell.as_raw_fd(), POLLIN, WAKE_TOKEN, true)?;
                debug!(worker = index, ?features, "io_uring driver started");
                Ok(ring)
            });
            match ring {
                Ok(ring) => {
                    let _ = started.send(Ok(()));
                    run(ring, &bell, core, &stopping);
                }
                Err(error) => {
                    let _ = started.send(Err(error));
                }
            }
        })?;
    start
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the io_uring driver thread died")))?;
    Ok(DriverHandle {
        commands,
        wake,
        stop,
        thread: Some(thread),
    })
}

fn run(mut ring: Ring, bell: &OwnedFd, mut core: DriverCore, stop: &AtomicBool) {
    let mut completions: Vec<(u64, i32, u32)> = Vec::with_capacity(RING_ENTRIES as usize);
    while !stop.load(Ordering::SeqCst) {
        // One system call a pass: it submits the sends and receives the
        // last round queued and, unless a read can make progress without
        // it, waits for the next completion. Completions are then read
        // from shared memory.
        let want = usize::from(!core.busy());
        let result = ring.push_queued().and_then(|()| {
            let pending = !ring.ring.submission().is_empty() || ring.ring.submission().taskrun();
            if want > 0 || pending {
                ring.ring.submit_and_wait(want).map(drop)
            } else {
                Ok(())
            }
        });
        if let Err(error) = result {
            if !matches!(
                error.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::ResourceBusy
            ) {
                warn!(%error, "io_uring wait failed; the I/O driver stops");
                break;
            }
        }
        take_completions(&mut ring, bell, &mut core, &mut completions);
        // The worker runs again only once every send is back.
        while ring.sends.as_ref().is_some_and(|s| s.in_flight() > 0) {
            if let Err(error) = ring.ring.submit_and_wait(1) {
                if error.kind() != io::ErrorKind::Interrupted {
                    warn!(%error, "io_uring wait for sends failed");
                }
            }
            take_completions(&mut ring, bell, &mut core, &mut completions);
        }
        core.take_commands(&mut ring);
        core.round(&mut ring);
        if let Some(Receiving { inboxes, buffers }) = &mut ring.receiving {
            inboxes.settle(buffers, |token| core.wants_read(token), &mut ring.queue);
        }
    }
    stop_driver(ring, bell, core, &mut completions);
}

/// Closes every peering, then waits (a while) for the kernel to end every
/// request that points at the driver's memory.
fn stop_driver(
    mut ring: Ring,
    bell: &OwnedFd,
    mut core: DriverCore,
    completions: &mut Vec<(u64, i32, u32)>,
) {
    core.close_all(&mut ring);
    let deadline = Instant::now() + STOP_PATIENCE;
    while ring.in_flight() > 0 && Instant::now() < deadline {
        let _ = ring.push_queued();
        let wait = types::Timespec::from(Duration::from_millis(50));
        let args = types::SubmitArgs::new().timespec(&wait);
        let _ = ring.ring.submitter().submit_with_args(1, &args);
        take_completions(&mut ring, bell, &mut core, completions);
    }
    if ring.in_flight() > 0 {
        warn!("io_uring requests outlived the driver; their buffers stay mapped");
        if let Some(receiving) = ring.receiving.take() {
            std::mem::forget(receiving);
        }
    }
}

/// Reads every completion and hands each to what it concerns.
fn take_completions(
    ring: &mut Ring,
    bell: &OwnedFd,
    core: &mut DriverCore,
    completions: &mut Vec<(u64, i32, u32)>,
) {
    completions.extend(
        ring.ring
            .completion()
            .map(|c| (c.user_data(), c.result(), c.flags())),
    );
    for (data, result, flags) in completions.drain(..) {
        let token = data & !KIND_MASK;
        match data & KIND_MASK {
            _ if data == WAKE_TOKEN => {
                let mut count = [0u8; 8];
                let _ = rustix::io::read(bell, &mut count);
                if !cqueue::more(flags) {
                    if let Err(error) = ring.poll(bell.as_raw_fd(), POLLIN, WAKE_TOKEN, true) {
                        warn!(%error, "cannot re-arm the wakeup poll");
                    }
                }
            }
            RECEIVE_KIND => {
                if let Some(Receiving { inboxes, buffers }) = &mut ring.receiving {
                    if let Arrival::Input(token) = inboxes.complete(data, result, flags, buffers) {
                        core.mark_ready(token, true, false);
                    }
                }
            }
            SEND_KIND => {
                let Some(sends) = &mut ring.sends else {
                    continue;
                };
                let outcome = sends.complete(result);
                let full = matches!(&outcome, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
                if full && ring.receiving.is_some() {
                    // No readiness poll is armed: ask for one, once.
                    if let Some(fd) = core.fd_of(token) {
                        if let Err(error) = ring.poll(fd, POLLOUT, WRITABLE_KIND | token, false) {
                            warn!(%error, "cannot poll a full socket for writability");
                        }
                    }
                }
                core.write_finished(token, outcome, ring);
            }
            WRITABLE_KIND => {
                if result != -ECANCELED {
                    core.mark_ready(token, false, true);
                }
            }
            POLL_KIND => on_poll(ring, core, token, result, flags),
            _ => {}
        }
    }
}

/// A peering's readiness poll completed: note the readiness, and re-arm
/// the poll if the kernel ended it while the peering is still attached.
fn on_poll(ring: &mut Ring, core: &mut DriverCore, token: u64, result: i32, flags: u32) {
    if result == -ECANCELED {
        return;
    }
    // Any other error is reported as readiness: the read or write that
    // follows finds out what it is.
    let events = u32::try_from(result).unwrap_or(POLLERR);
    core.mark_ready(
        token,
        events & (POLLIN | POLLERR | POLLHUP | POLLRDHUP) != 0,
        events & (POLLOUT | POLLERR | POLLHUP) != 0,
    );
    if !cqueue::more(flags) {
        if let Some(fd) = core.fd_of(token) {
            if let Err(error) = ring.register(fd, token) {
                warn!(%error, "cannot re-arm a peering's poll");
            }
        }
    }
}
