//! The session endpoint as other threads see it: commands to the session
//! thread, the queue datagrams reach it by, and the accept queues.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use ed25519_dalek::SigningKey;
use mio::Waker;
use pinecone_engine::control::Event;
use pinecone_engine::wire::PublicKey;

use super::config::SessionConfig;
use super::engine::{Engine, WAKER};
use super::error::{check_protocol, SessionError};
use super::stats::{count, Counters, SessionStats};
use super::stream::SessionStream;
use crate::node::Datagram;

/// Sends one QUIC datagram to a key over the overlay.
pub(crate) type Output = Box<dyn FnMut(PublicKey, &[u8]) + Send>;

/// Publishes a session event with the node's other events.
pub(crate) type EventSink = Box<dyn Fn(Event) + Send>;

/// One open session, as listed by `Node::sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The other node's key.
    pub remote_key: PublicKey,
    /// The protocol.
    pub protocol: String,
    /// Whether this node dialled it.
    pub outbound: bool,
    /// Streams open on it (with a pump running on this node).
    pub streams: usize,
}

/// What other threads ask of the session thread.
pub(crate) enum Command {
    Listen {
        protocol: String,
        reply: Sender<Receiver<SessionStream>>,
    },
    Unlisten {
        protocol: String,
        reply: Sender<bool>,
    },
    Dial {
        id: u64,
        key: PublicKey,
        protocol: String,
        reply: Sender<Result<SessionStream, SessionError>>,
    },
    /// The dialler stopped waiting.
    ForgetDial(u64),
    CancelDials {
        key: PublicKey,
        protocol: String,
        reply: Sender<usize>,
    },
    List(Sender<Vec<SessionInfo>>),
    Close {
        key: PublicKey,
        reply: Sender<usize>,
    },
    Shutdown,
}

/// Where the node puts the datagrams addressed to it while sessions run.
pub(crate) struct Inlet {
    queue: Sender<Datagram>,
    /// Set when the session thread was woken and has not drained since.
    pending: AtomicBool,
    waker: Arc<Waker>,
    counters: Arc<Counters>,
}

impl Inlet {
    /// Queues a datagram for the session thread (dropped and counted when
    /// the queue is full) and wakes it.
    pub(crate) fn push(&self, datagram: Datagram) {
        if let Err(TrySendError::Full(_)) = self.queue.try_send(datagram) {
            count(&self.counters.datagrams_dropped);
        }
        self.wake();
    }

    /// Wakes the session thread unless it was woken and has not drained
    /// the queue since.
    pub(crate) fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    /// Called by the session thread before it drains the queue.
    pub(crate) fn drained(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for Inlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inlet").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running session endpoint.
pub(crate) struct SessionHandle {
    commands: Sender<Command>,
    waker: Arc<Waker>,
    inlet: Arc<Inlet>,
    accepts: Mutex<HashMap<String, Receiver<SessionStream>>>,
    count: Arc<AtomicUsize>,
    counters: Arc<Counters>,
    next_dial: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl SessionHandle {
    /// Starts the session thread of the node with `key`.
    pub(crate) fn start(
        key: &SigningKey,
        config: &SessionConfig,
        output: Output,
        events: EventSink,
    ) -> Result<SessionHandle, SessionError> {
        let poll = mio::Poll::new().map_err(|error| SessionError::Start(error.to_string()))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKER)
                .map_err(|error| SessionError::Start(error.to_string()))?,
        );
        let counters = Arc::new(Counters::default());
        let (queue, datagrams) = crossbeam_channel::bounded(config.datagram_queue.max(1));
        let inlet = Arc::new(Inlet {
            queue,
            pending: AtomicBool::new(false),
            waker: Arc::clone(&waker),
            counters: Arc::clone(&counters),
        });
        let (commands, command_queue) = crossbeam_channel::unbounded();
        let count = Arc::new(AtomicUsize::new(0));
        let engine = Engine::new(
            key,
            config.clone(),
            poll,
            command_queue,
            datagrams,
            Arc::clone(&inlet),
            output,
            events,
            Arc::clone(&counters),
            Arc::clone(&count),
        )?;
        let thread = thread::Builder::new()
            .name("pinecone-sessions".to_owned())
            .spawn(move || engine.run())
            .map_err(|error| SessionError::Start(error.to_string()))?;
        Ok(SessionHandle {
            commands,
            waker,
            inlet,
            accepts: Mutex::default(),
            count,
            counters,
            next_dial: AtomicU64::new(0),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Where the node puts datagrams for the endpoint.
    pub(crate) fn inlet(&self) -> Arc<Inlet> {
        Arc::clone(&self.inlet)
    }

    fn send(&self, command: Command) -> Result<(), SessionError> {
        self.commands
            .send(command)
            .map_err(|_| SessionError::Stopped)?;
        let _ = self.waker.wake();
        Ok(())
    }

    fn ask<T>(&self, command: impl FnOnce(Sender<T>) -> Command) -> Result<T, SessionError> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.send(command(reply))?;
        answer.recv().map_err(|_| SessionError::Stopped)
    }

    /// Accepts streams for `protocol` from now on.
    pub(crate) fn listen(&self, protocol: &str) -> Result<(), SessionError> {
        check_protocol(protocol)?;
        let protocol = protocol.to_owned();
        let name = protocol.clone();
        let accepted = self.ask(|reply| Command::Listen { protocol, reply })?;
        lock(&self.accepts).insert(name, accepted);
        Ok(())
    }

    /// Stops accepting streams for `protocol`; accepts waiting for it fail.
    pub(crate) fn unlisten(&self, protocol: &str) -> Result<(), SessionError> {
        lock(&self.accepts).remove(protocol);
        let name = protocol.to_owned();
        if self.ask(|reply| Command::Unlisten {
            protocol: name,
            reply,
        })? {
            Ok(())
        } else {
            Err(SessionError::NotListening(protocol.to_owned()))
        }
    }

    /// The next stream for `protocol`, waiting at most `timeout` (`None`:
    /// for ever).
    pub(crate) fn accept(
        &self,
        protocol: &str,
        timeout: Option<Duration>,
    ) -> Result<SessionStream, SessionError> {
        let not_listening = || SessionError::NotListening(protocol.to_owned());
        let queue = lock(&self.accepts)
            .get(protocol)
            .cloned()
            .ok_or_else(not_listening)?;
        let result = match timeout {
            Some(timeout) => queue.recv_timeout(timeout),
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match result {
            Ok(stream) => Ok(stream),
            Err(RecvTimeoutError::Timeout) => Err(SessionError::TimedOut),
            Err(RecvTimeoutError::Disconnected) => Err(if self.is_stopped() {
                SessionError::Stopped
            } else {
                not_listening()
            }),
        }
    }

    fn is_stopped(&self) -> bool {
        lock(&self.thread).is_none()
    }

    /// A stream to `key` for `protocol`, waiting at most `timeout`.
    pub(crate) fn dial(
        &self,
        key: PublicKey,
        protocol: &str,
        timeout: Option<Duration>,
    ) -> Result<SessionStream, SessionError> {
        check_protocol(protocol)?;
        let id = self.next_dial.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.send(Command::Dial {
            id,
            key,
            protocol: protocol.to_owned(),
            reply,
        })?;
        let result = match timeout {
            Some(timeout) => answer.recv_timeout(timeout),
            None => answer.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match result {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.send(Command::ForgetDial(id));
                Err(SessionError::TimedOut)
            }
            Err(RecvTimeoutError::Disconnected) => Err(SessionError::Stopped),
        }
    }

    /// Fails the dials waiting for `key` and `protocol`; answers how many.
    pub(crate) fn cancel_dials(
        &self,
        key: PublicKey,
        protocol: &str,
    ) -> Result<usize, SessionError> {
        let protocol = protocol.to_owned();
        self.ask(|reply| Command::CancelDials {
            key,
            protocol,
            reply,
        })
    }

    /// The sessions established.
    pub(crate) fn list(&self) -> Result<Vec<SessionInfo>, SessionError> {
        self.ask(Command::List)
    }

    /// How many sessions are established.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Closes every session with `key`; answers how many.
    pub(crate) fn close(&self, key: PublicKey) -> Result<usize, SessionError> {
        self.ask(|reply| Command::Close { key, reply })
    }

    /// The counts of refusals and drops.
    pub(crate) fn stats(&self) -> SessionStats {
        self.counters.snapshot()
    }

    /// Closes every session (telling the peers) and joins the thread;
    /// waiting accepts and dials fail.
    pub(crate) fn stop(&self) {
        let Some(thread) = lock(&self.thread).take() else {
            return;
        };
        lock(&self.accepts).clear();
        let _ = self.commands.send(Command::Shutdown);
        let _ = self.waker.wake();
        if thread.join().is_err() {
            tracing::warn!("the session thread panicked");
        }
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
