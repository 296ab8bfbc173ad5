//! The queue of datagrams for the application: bounded, filled by the
//! control thread, emptied by receivers, with a file descriptor that is
//! readable while datagrams wait, for hosts that wait in an event loop of
//! their own (epoll, libuv, Go's netpoller) rather than in a receive.
//!
//! The descriptor is an eventfd whose readability follows the queue: it
//! is made readable when a datagram arrives at an empty queue and made
//! unreadable again by the receive that leaves the queue empty, so the
//! system calls that cost are paid at those transitions only, and only
//! once somebody asked for the descriptor.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};
use rustix::event::{eventfd, EventfdFlags};

use super::datagram::Datagram;

/// An eventfd readable exactly while `raised`.
#[derive(Debug)]
struct Readiness {
    fd: OwnedFd,
    /// Whether somebody asked for the descriptor: until then nothing is
    /// signalled, and the queue costs no system call.
    watched: AtomicBool,
    /// `raised`, readable without the lock, so that a sender finding the
    /// descriptor already readable goes on without it.
    hint: AtomicBool,
    /// Whether the eventfd's counter is non-zero; held while it changes.
    raised: Mutex<bool>,
}

impl Readiness {
    fn new() -> io::Result<Readiness> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Readiness {
            fd,
            watched: AtomicBool::new(false),
            hint: AtomicBool::new(false),
            raised: Mutex::new(false),
        })
    }

    /// Called by a sender after it queued a datagram.
    fn after_send(&self, wanted: impl Fn() -> bool) {
        // Sequentially consistent, against the store and the second look at
        // the queue in `sync`: either this sees the descriptor lowered, or
        // the receiver lowering it sees the datagram.
        if self.watched.load(Ordering::SeqCst) && !self.hint.load(Ordering::SeqCst) {
            self.sync(wanted);
        }
    }

    /// Called by a receiver after a receive left the queue empty.
    fn after_receive(&self, wanted: impl Fn() -> bool) {
        if self.watched.load(Ordering::SeqCst) {
            self.sync(wanted);
        }
    }

    /// Makes the descriptor readable when `wanted` (datagrams wait, or the
    /// node stopped), unreadable otherwise. Changes are made under the
    /// lock after looking at the queue there, so the last change always
    /// reflects every datagram queued or taken before it.
    fn sync(&self, wanted: impl Fn() -> bool) {
        let mut raised = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
        if *raised == wanted() {
            return;
        }
        if *raised {
            self.hint.store(false, Ordering::SeqCst);
            // A sender that still saw the hint set queued before this
            // second look, which then finds its datagram.
            if wanted() {
                self.hint.store(true, Ordering::SeqCst);
                return;
            }
            // Resets the counter, which was 1, to 0.
            let _ = rustix::io::read(&self.fd, &mut [0u8; 8]);
            *raised = false;
        } else {
            // The counter is 0 (kept so under the lock), so the write
            // cannot overflow it; nothing to do if it fails anyway.
            let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
            *raised = true;
            self.hint.store(true, Ordering::SeqCst);
        }
    }
}

/// What the sending and the receiving end share.
#[derive(Debug)]
struct Shared {
    readiness: Readiness,
    /// Set when the sending end is gone: the node has stopped.
    closed: AtomicBool,
    /// Whether the receivers' front queue may hold datagrams handed back:
    /// checked without its lock, so that the common case costs one atomic
    /// load.
    any_in_front: AtomicBool,
}

impl Shared {
    /// Whether the descriptor should be readable, given whether the
    /// channel is empty.
    fn wanted(&self, channel_empty: bool) -> bool {
        !channel_empty
            || self.any_in_front.load(Ordering::SeqCst)
            || self.closed.load(Ordering::SeqCst)
    }
}

/// The control thread's end: queues datagrams.
#[derive(Debug)]
pub(crate) struct DeliverySender {
    datagrams: Sender<Datagram>,
    shared: Arc<Shared>,
}

impl DeliverySender {
    /// Queues a datagram; hands it back when the queue is full.
    pub(crate) fn deliver(&self, datagram: Datagram) -> Result<(), Datagram> {
        match self.datagrams.try_send(datagram) {
            Ok(()) => {
                let shared = &self.shared;
                shared
                    .readiness
                    .after_send(|| shared.wanted(self.datagrams.is_empty()));
                Ok(())
            }
            Err(TrySendError::Full(datagram) | TrySendError::Disconnected(datagram)) => {
                Err(datagram)
            }
        }
    }
}

impl Drop for DeliverySender {
    /// The node stopped: the descriptor becomes readable for good, so that
    /// a host waiting on it wakes and finds its receive failing.
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if self.shared.readiness.watched.load(Ordering::SeqCst) {
            self.shared.readiness.sync(|| true);
        }
    }
}

/// The receivers' end.
#[derive(Debug)]
pub(crate) struct DeliveryQueue {
    datagrams: Receiver<Datagram>,
    /// Datagrams handed back by receivers, received first.
    front: Mutex<VecDeque<Datagram>>,
    shared: Arc<Shared>,
}

/// A queue holding at most `capacity` datagrams (besides those handed
/// back), and its sending end.
pub(crate) fn delivery_queue(capacity: usize) -> io::Result<(DeliverySender, DeliveryQueue)> {
    let (sender, receiver) = crossbeam_channel::bounded(capacity.max(1));
    let shared = Arc::new(Shared {
        readiness: Readiness::new()?,
        closed: AtomicBool::new(false),
        any_in_front: AtomicBool::new(false),
    });
    let sending = DeliverySender {
        datagrams: sender,
        shared: Arc::clone(&shared),
    };
    let receiving = DeliveryQueue {
        datagrams: receiver,
        front: Mutex::new(VecDeque::new()),
        shared,
    };
    Ok((sending, receiving))
}

impl DeliveryQueue {
    fn front(&self) -> MutexGuard<'_, VecDeque<Datagram>> {
        self.front.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest datagram handed back, if any.
    fn take_front(&self) -> Option<Datagram> {
        if !self.shared.any_in_front.load(Ordering::Acquire) {
            return None;
        }
        let mut front = self.front();
        let datagram = front.pop_front();
        self.shared
            .any_in_front
            .store(!front.is_empty(), Ordering::SeqCst);
        datagram
    }

    /// The next datagram, waiting at most `timeout` (not at all when it is
    /// zero); `None` when none came in time or the node stopped.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Option<Datagram> {
        if let Some(datagram) = self.take_front() {
            self.settle();
            return Some(datagram);
        }
        let received = if timeout.is_zero() {
            // A zero timeout must not wait at all: crossbeam's timed
            // receive spins and yields before it looks at the deadline.
            self.datagrams.try_recv().map_err(|error| match error {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else {
            self.datagrams.recv_timeout(timeout)
        };
        match received {
            Ok(datagram) => {
                self.settle();
                Some(datagram)
            }
            Err(RecvTimeoutError::Timeout) => {
                self.settle();
                None
            }
            // Stopped: the descriptor stays readable.
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Puts `datagram` back at the front of the queue: the next receive
    /// gets it first.
    pub(crate) fn hand_back(&self, datagram: Datagram) {
        self.front().push_front(datagram);
        self.shared.any_in_front.store(true, Ordering::SeqCst);
        let shared = &self.shared;
        shared
            .readiness
            .after_send(|| shared.wanted(self.datagrams.is_empty()));
    }

    /// The descriptor readable while datagrams wait; from the first call
    /// on, its readability follows the queue.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        let shared = &self.shared;
        shared.readiness.watched.store(true, Ordering::SeqCst);
        shared
            .readiness
            .sync(|| shared.wanted(self.datagrams.is_empty()));
        shared.readiness.fd.as_fd()
    }

    fn is_empty(&self) -> bool {
        !self.shared.any_in_front.load(Ordering::SeqCst) && self.datagrams.is_empty()
    }

    /// After a receive: when it left the queue empty, the descriptor
    /// follows (a lock, and system calls only when it changes).
    fn settle(&self) {
        if self.is_empty() {
            let shared = &self.shared;
            shared
                .readiness
                .after_receive(|| shared.wanted(self.datagrams.is_empty()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinecone_engine::wire::PublicKey;
    use rustix::event::{poll, PollFd, PollFlags, Timespec};

    fn datagram(byte: u8) -> Datagram {
        Datagram {
            source: PublicKey([byte; 32]),
            payload: vec![byte],
        }
    }

    fn readable(queue: &DeliveryQueue) -> bool {
        let fd = queue.shared.readiness.fd.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        poll(&mut fds, Some(&Timespec::default())).unwrap() == 1
    }

    #[test]
    fn the_descriptor_is_readable_exactly_while_datagrams_wait() {
        let (sender, queue) = delivery_queue(8).unwrap();
        sender.deliver(datagram(1)).unwrap();
        assert!(
            !readable(&queue),
            "nothing is signalled before the first fd()"
        );
        queue.fd();
        assert!(readable(&queue), "a datagram was already waiting");
        sender.deliver(datagram(2)).unwrap();
        assert_eq!(queue.recv_timeout(Duration::ZERO), Some(datagram(1)));
        assert!(readable(&queue), "one more waits");
        assert_eq!(queue.recv_timeout(Duration::ZERO), Some(datagram(2)));
        assert!(!readable(&queue));
        assert_eq!(queue.recv_timeout(Duration::ZERO), None);
        assert!(!readable(&queue));
        sender.deliver(datagram(3)).unwrap();
        assert!(readable(&queue));
        let taken = queue.recv_timeout(Duration::ZERO).unwrap();
        assert!(!readable(&queue));
        queue.hand_back(taken);
        assert!(readable(&queue), "a datagram handed back waits too");
        assert_eq!(queue.recv_timeout(Duration::ZERO), Some(datagram(3)));
        assert!(!readable(&queue));
        drop(sender);
        assert!(readable(&queue), "a stopped node wakes its pollers");
        assert_eq!(queue.recv_timeout(Duration::ZERO), None);
        assert!(readable(&queue), "and stays readable");
    }

    #[test]
    fn handed_back_datagrams_come_first_and_a_full_queue_refuses() {
        let (sender, queue) = delivery_queue(1).unwrap();
        sender.deliver(datagram(1)).unwrap();
        assert_eq!(sender.deliver(datagram(2)), Err(datagram(2)));
        let first = queue.recv_timeout(Duration::from_secs(1)).unwrap();
        sender.deliver(datagram(2)).unwrap();
        queue.hand_back(first);
        assert_eq!(queue.recv_timeout(Duration::ZERO), Some(datagram(1)));
        assert_eq!(queue.recv_timeout(Duration::ZERO), Some(datagram(2)));
        assert_eq!(queue.recv_timeout(Duration::ZERO), None);
    }

    #[test]
    fn a_receiver_waiting_on_the_descriptor_misses_no_datagram() {
        const COUNT: u32 = 20_000;
        let (sender, queue) = delivery_queue(64).unwrap();
        let queue = Arc::new(queue);
        queue.fd();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || {
                    let fd = queue.fd();
                    let mut got = 0u32;
                    loop {
                        // A lost wakeup leaves a datagram waiting with the
                        // descriptor unreadable: this poll then times out.
                        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                        let timeout = Timespec::try_from(Duration::from_secs(30)).unwrap();
                        assert_eq!(poll(&mut fds, Some(&timeout)).unwrap(), 1, "no wakeup");
                        if queue.shared.closed.load(Ordering::SeqCst) && queue.is_empty() {
                            return got;
                        }
                        while queue.recv_timeout(Duration::ZERO).is_some() {
                            got += 1;
                        }
                    }
                })
            })
            .collect();
        for index in 0..COUNT {
            while sender.deliver(datagram(index as u8)).is_err() {
                std::thread::yield_now();
            }
            if index % 64 == 0 {
                std::thread::yield_now();
            }
        }
        while !queue.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Once the receivers drained it, the descriptor is quiet (a host
        // polling it does not spin), and a new datagram raises it again.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!readable(&queue));
        sender.deliver(datagram(0)).unwrap();
        while !queue.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(sender);
        let received: u32 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(received, COUNT + 1);
    }
}
