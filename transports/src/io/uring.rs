//! The io_uring driver: one thread per forwarding worker, one ring per
//! thread. Readiness comes from multishot poll requests on the ring (one
//! per peering, one on an eventfd for wakeups); reads and vectored writes
//! are then made directly into and out of the worker's buffers, so no
//! buffer is ever lent to the kernel.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use core_affinity::CoreId;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use pinecone_engine::forward::Fabric;
use rustix::event::{eventfd, EventfdFlags};
use tracing::warn;

use super::affinity::pin_current;
use super::core::{DriverCore, Readiness};
use super::handle::{DriverHandle, DriverHooks};

/// Submission queue entries per ring.
const RING_ENTRIES: u32 = 256;
/// The user data of the wakeup eventfd's poll.
const WAKE_TOKEN: u64 = 0;
/// The user data of poll removals (their completions are ignored).
const REMOVAL_TOKEN: u64 = u64::MAX;

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

/// The ring as a readiness source.
struct Ring {
    ring: IoUring,
}

impl Ring {
    /// Queues `entry` and submits it at once, so that it refers to the file
    /// descriptor it names while that is still open.
    fn push_now(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        if self.ring.submission().is_full() {
            self.ring.submit()?;
        }
        // SAFETY: the entries this driver queues are poll requests and poll
        // removals. They point at no memory of ours, only at a file
        // descriptor, and are submitted before that descriptor is closed
        // (the poll holds its own reference to the file from then on).
        #[allow(unsafe_code)]
        let pushed = unsafe { self.ring.submission().push(entry) };
        pushed.map_err(|_| io::Error::other("io_uring submission queue full"))?;
        self.ring.submit()?;
        Ok(())
    }

    fn poll(&mut self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let entry = opcode::PollAdd::new(types::Fd(fd), events)
            .multi(true)
            .build()
            .user_data(token);
        self.push_now(&entry)
    }
}

impl Readiness for Ring {
    fn register(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        self.poll(fd, POLLIN | POLLOUT | POLLRDHUP, token)
    }

    fn deregister(&mut self, _fd: RawFd, token: u64) {
        let entry = opcode::PollRemove::new(token)
            .build()
            .user_data(REMOVAL_TOKEN);
        if let Err(error) = self.push_now(&entry) {
            warn!(%error, "cannot remove an io_uring poll");
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
    let wakeup_fd: Arc<OwnedFd> =
        Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
    let worker = fabric
        .worker(index)
        .ok_or_else(|| io::Error::other(format!("worker {index} is missing or taken")))?;
    let doorbell = Arc::clone(worker.doorbell());
    let ringing = Arc::clone(&wakeup_fd);
    let installed = doorbell.install(move || {
        // A full counter (never reached in practice) still wakes the thread.
        let _ = rustix::io::write(ringing.as_fd(), &1u64.to_ne_bytes());
    });
    if !installed {
        return Err(io::Error::other(format!(
            "worker {index} already has a driver"
        )));
    }
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
            let ring = IoUring::new(RING_ENTRIES).map(|ring| Ring { ring });
            let ring = ring.and_then(|mut ring| {
                ring.poll(wakeup_fd.as_raw_fd(), POLLIN, WAKE_TOKEN)?;
                Ok(ring)
            });
            match ring {
                Ok(ring) => {
                    let _ = started.send(Ok(()));
                    run(ring, &wakeup_fd, core, &stopping);
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
        doorbell,
        stop,
        thread: Some(thread),
    })
}

fn run(mut ring: Ring, wakeup_fd: &OwnedFd, mut core: DriverCore, stop: &AtomicBool) {
    let mut completions: Vec<(u64, i32, u32)> = Vec::with_capacity(RING_ENTRIES as usize);
    while !stop.load(Ordering::SeqCst) {
        // Every request is submitted when queued, and completions are read
        // from shared memory: a busy round needs no system call here.
        let waited = if core.busy() {
            Ok(0)
        } else {
            ring.ring.submit_and_wait(1)
        };
        if let Err(error) = waited {
            if !matches!(
                error.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::ResourceBusy
            ) {
                warn!(%error, "io_uring wait failed; the I/O driver stops");
                break;
            }
        }
        completions.extend(
            ring.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for (token, result, flags) in completions.drain(..) {
            match token {
                REMOVAL_TOKEN => {}
                WAKE_TOKEN => {
                    let mut count = [0u8; 8];
                    let _ = rustix::io::read(wakeup_fd, &mut count);
                    if !cqueue::more(flags) {
                        if let Err(error) = ring.poll(wakeup_fd.as_raw_fd(), POLLIN, WAKE_TOKEN) {
                            warn!(%error, "cannot re-arm the wakeup poll");
                        }
                    }
                }
                token => on_poll(&mut ring, &mut core, token, result, flags),
            }
        }
        core.take_commands(&mut ring);
        core.round(&mut ring);
    }
    core.close_all(&mut ring);
}

/// A peering's poll completed: note the readiness, and re-arm the poll if
/// the kernel ended it while the peering is still attached.
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
