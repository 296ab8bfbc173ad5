//! The session calls of a [`Node`]: the session endpoint starts at the
//! first of them, and from then on every datagram for this node goes to
//! it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::PublicKey;

use super::datagram::send_through_fabric;
use super::handle::{lock, Node};
use super::inbox::{ControlInput, Request};
use crate::io;
use crate::sessions::{
    SessionConfig, SessionError, SessionHandle, SessionInfo, SessionStats, SessionStream,
};

/// The session endpoint of a node, started on first use.
pub(crate) struct NodeSessions {
    key: SigningKey,
    config: SessionConfig,
    running: Mutex<Option<Arc<SessionHandle>>>,
    /// Set by a shutdown: no endpoint starts any more.
    stopped: Mutex<bool>,
}

impl NodeSessions {
    /// Not started yet.
    pub(crate) fn new(key: SigningKey, config: SessionConfig) -> NodeSessions {
        NodeSessions {
            key,
            config,
            running: Mutex::new(None),
            stopped: Mutex::new(false),
        }
    }

    /// Stops the endpoint if it runs; none starts afterwards.
    pub(crate) fn stop(&self) {
        *lock(&self.stopped) = true;
        let running = lock(&self.running).take();
        if let Some(handle) = running {
            handle.stop();
        }
    }
}

impl Node {
    /// The session endpoint, started when it is not yet.
    fn session_endpoint(&self) -> Result<Arc<SessionHandle>, SessionError> {
        let sessions = &self.sessions;
        let stopped = lock(&sessions.stopped);
        if *stopped {
            return Err(SessionError::Stopped);
        }
        let mut running = lock(&sessions.running);
        if let Some(handle) = running.as_ref() {
            return Ok(Arc::clone(handle));
        }
        let fabric = Arc::clone(&self.fabric);
        let inbox = self.inbox.clone();
        let me = self.public_key;
        let output = Box::new(move |dest: PublicKey, payload: &[u8]| {
            // A datagram the forwarding plane cannot route yet goes
            // through the control thread, without waiting for it.
            if let Ok(false) = send_through_fabric(&fabric, me, dest, payload, io::now()) {
                let (reply, _) = crossbeam_channel::bounded(1);
                let _ = inbox.send(ControlInput::Request(Request::Send {
                    dest,
                    payload: payload.to_vec(),
                    reply,
                }));
            }
        });
        let events_inbox = self.inbox.clone();
        let events = Box::new(move |event| {
            let _ = events_inbox.send(ControlInput::SessionEvent(event));
        });
        let handle = Arc::new(SessionHandle::start(
            &sessions.key,
            &sessions.config,
            output,
            events,
        )?);
        self.inbox
            .send(ControlInput::Request(Request::RouteToSessions(
                handle.inlet(),
            )))
            .map_err(|_| SessionError::Stopped)?;
        *running = Some(Arc::clone(&handle));
        Ok(handle)
    }

    /// Accepts session streams for `protocol` (an ALPN name, e.g.
    /// `"matrix"`) from now on. Starts the session endpoint if needed;
    /// listening again for the same protocol does nothing.
    pub fn listen_sessions(&self, protocol: &str) -> Result<(), SessionError> {
        self.session_endpoint()?.listen(protocol)
    }

    /// Stops accepting sessions and streams for `protocol`: new ones are
    /// refused, streams waiting to be accepted are closed, and accepts
    /// waiting for it fail with [`SessionError::NotListening`]. Sessions
    /// already open stay, for the streams this node dials over them.
    pub fn unlisten_sessions(&self, protocol: &str) -> Result<(), SessionError> {
        self.session_endpoint()?.unlisten(protocol)
    }

    /// The next stream another node opened for `protocol`, waiting at most
    /// `timeout` (`None`: for ever). Its
    /// [`remote_key`](SessionStream::remote_key) is the dialler's key,
    /// authenticated by the handshake.
    pub fn accept_session(
        &self,
        protocol: &str,
        timeout: Option<Duration>,
    ) -> Result<SessionStream, SessionError> {
        self.session_endpoint()?.accept(protocol, timeout)
    }

    /// A new stream to the node with `key` for `protocol`, over the
    /// session with it (dialled now if there is none), waiting at most
    /// `timeout` (`None`: for ever). The other node learns of the stream
    /// with its first byte.
    pub fn dial_session(
        &self,
        key: PublicKey,
        protocol: &str,
        timeout: Option<Duration>,
    ) -> Result<SessionStream, SessionError> {
        self.session_endpoint()?.dial(key, protocol, timeout)
    }

    /// Fails every dial waiting for `key` and `protocol` with
    /// [`SessionError::Cancelled`]; returns how many there were.
    pub fn cancel_session_dials(
        &self,
        key: PublicKey,
        protocol: &str,
    ) -> Result<usize, SessionError> {
        self.session_endpoint()?.cancel_dials(key, protocol)
    }

    /// The established sessions.
    pub fn sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        self.session_endpoint()?.list()
    }

    /// How many sessions are established (0 before the endpoint started).
    pub fn session_count(&self) -> usize {
        lock(&self.sessions.running)
            .as_ref()
            .map_or(0, |handle| handle.count())
    }

    /// Closes every session with `key` (its streams end); returns how many
    /// were established.
    pub fn close_sessions(&self, key: PublicKey) -> Result<usize, SessionError> {
        self.session_endpoint()?.close(key)
    }

    /// What the session endpoint refused and dropped so far (all zeros
    /// before it started).
    pub fn session_stats(&self) -> SessionStats {
        lock(&self.sessions.running)
            .as_ref()
            .map_or_else(SessionStats::default, |handle| handle.stats())
    }
}
