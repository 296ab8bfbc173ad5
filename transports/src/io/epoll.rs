//! The mio (epoll) driver: one thread per forwarding worker.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use core_affinity::CoreId;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use pinecone_engine::forward::Fabric;
use tracing::warn;

use super::affinity::pin_current;
use super::core::{DriverCore, Readiness};
use super::handle::{DriverHandle, DriverHooks};

/// The token of the waker.
const WAKER: Token = Token(0);

impl Readiness for Poll {
    fn register(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        let token = usize::try_from(token).map_err(io::Error::other)?;
        self.registry().register(
            &mut SourceFd(&fd),
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    fn deregister(&mut self, fd: RawFd, _token: u64) {
        let _ = self.registry().deregister(&mut SourceFd(&fd));
    }
}

/// Starts the epoll driver of worker `index` of `fabric` on a new thread,
/// pinned to `core` if one is given.
pub(crate) fn spawn_epoll(
    fabric: &Arc<Fabric>,
    index: usize,
    hooks: DriverHooks,
    core: Option<CoreId>,
) -> io::Result<DriverHandle> {
    let worker = fabric
        .worker(index)
        .ok_or_else(|| io::Error::other(format!("worker {index} is missing or taken")))?;
    let poll = Poll::new()?;
    let doorbell = Arc::clone(worker.doorbell());
    let waker = Waker::new(poll.registry(), WAKER)?;
    let installed = doorbell.install(move || {
        if let Err(error) = waker.wake() {
            warn!(%error, "cannot wake an I/O driver");
        }
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
    let thread = thread::Builder::new()
        .name(format!("pinecone-epoll-{index}"))
        .spawn(move || {
            pin_current(pinned);
            run(poll, core, &stopping)
        })?;
    Ok(DriverHandle {
        commands,
        doorbell,
        stop,
        thread: Some(thread),
    })
}

fn run(mut poll: Poll, mut core: DriverCore, stop: &AtomicBool) {
    let mut events = Events::with_capacity(256);
    while !stop.load(Ordering::SeqCst) {
        let timeout = core.busy().then_some(Duration::ZERO);
        if let Err(error) = poll.poll(&mut events, timeout) {
            if error.kind() != io::ErrorKind::Interrupted {
                warn!(%error, "polling failed; the I/O driver stops");
                break;
            }
        }
        for event in events.iter() {
            if event.token() == WAKER {
                continue;
            }
            core.mark_ready(
                event.token().0 as u64,
                event.is_readable() || event.is_read_closed() || event.is_error(),
                event.is_writable() || event.is_write_closed() || event.is_error(),
            );
        }
        core.take_commands(&mut poll);
        core.round(&mut poll);
    }
    core.close_all(&mut poll);
}
