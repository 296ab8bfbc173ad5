//! Dials: a stream to a key for a protocol, over the session with that
//! key and protocol when there is one, over a new one otherwise.

use std::time::Instant;

use crossbeam_channel::Sender;
use pinecone_engine::wire::PublicKey;
use quinn_proto::{ConnectionHandle, Dir};

use super::engine::{Conn, Dial, Engine};
use super::error::SessionError;
use super::pump::STREAM_CLOSED;
use super::stream::SessionStream;
use super::tls::PLACEHOLDER_SERVER_NAME;

/// How long a dial whose session the peer replaced waits for the
/// replacing session before dialling again.
const PARKED_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl Engine {
    /// Starts dial `id`.
    pub(crate) fn dial(
        &mut self,
        id: u64,
        key: PublicKey,
        protocol: String,
        reply: Sender<Result<SessionStream, SessionError>>,
    ) {
        if key == self.local_key {
            let _ = reply.send(Err(SessionError::SelfDial));
            return;
        }
        self.dials.insert(
            id,
            Dial {
                key,
                protocol,
                reply,
                retried: false,
            },
        );
        self.attach_dial(id);
    }

    /// Puts dial `id` in line on the session for its key and protocol,
    /// dialling one when there is none.
    fn attach_dial(&mut self, id: u64) {
        let Some(dial) = self.dials.get(&id) else {
            return;
        };
        let entry = (dial.protocol.clone(), dial.key);
        let ch = match self.sessions.get(&entry) {
            Some(&ch) => ch,
            None => match self.connect(entry.1, entry.0) {
                Ok(ch) => ch,
                Err(error) => {
                    self.fail_dial(id, error);
                    return;
                }
            },
        };
        if let Some(conn) = self.conns.get_mut(&ch) {
            conn.dials.push_back(id);
        }
        self.serve_dials(ch);
    }

    /// Starts a session with `key` for `protocol`.
    fn connect(
        &mut self,
        key: PublicKey,
        protocol: String,
    ) -> Result<ConnectionHandle, SessionError> {
        let limit = self.config.max_sessions;
        if self.established.load(std::sync::atomic::Ordering::Relaxed) >= limit {
            return Err(SessionError::TooManySessions(limit));
        }
        let config = self
            .tls
            .client(key, &protocol)
            .map_err(|error| SessionError::Failed(error.to_string()))?;
        let address = super::addresses::address_of(&key);
        let (ch, conn) = self
            .endpoint
            .connect(Instant::now(), config, address, PLACEHOLDER_SERVER_NAME)
            .map_err(|error| SessionError::Failed(error.to_string()))?;
        self.book.hold(key);
        self.sessions.insert((protocol.clone(), key), ch);
        self.conns.insert(
            ch,
            Conn {
                conn,
                key,
                address,
                protocol: Some(protocol),
                outbound: true,
                established_at: None,
                registered: true,
                counted: false,
                dials: Default::default(),
                pumps: Default::default(),
                closing: None,
                retired: false,
            },
        );
        self.touched.push(ch);
        Ok(ch)
    }

    /// Opens a stream for each dial waiting on `ch`, while the peer's
    /// stream limit allows.
    pub(crate) fn serve_dials(&mut self, ch: ConnectionHandle) {
        loop {
            let Some(conn) = self.conns.get_mut(&ch) else {
                return;
            };
            if conn.established_at.is_none() || conn.closing.is_some() {
                return;
            }
            let Some(&id) = conn.dials.front() else {
                return;
            };
            if !self.dials.contains_key(&id) {
                conn.dials.pop_front();
                continue;
            }
            let Some(stream_id) = conn.conn.streams().open(Dir::Bi) else {
                return;
            };
            conn.dials.pop_front();
            let Some(dial) = self.dials.remove(&id) else {
                continue;
            };
            match self.new_stream(ch, stream_id) {
                Ok(stream) => {
                    let _ = dial.reply.send(Ok(stream));
                }
                Err(error) => {
                    let _ = dial
                        .reply
                        .send(Err(SessionError::Failed(error.to_string())));
                    if let Some(conn) = self.conns.get_mut(&ch) {
                        let _ = conn.conn.send_stream(stream_id).reset(STREAM_CLOSED);
                    }
                }
            }
            self.touched.push(ch);
        }
    }

    /// The session dial `id` waited on ended: it tries once more (on the
    /// session that replaced it, or a new one), then fails.
    pub(crate) fn redial(&mut self, id: u64, why: &str) {
        let Some(dial) = self.dials.get_mut(&id) else {
            return;
        };
        if dial.retried {
            self.fail_dial(id, SessionError::Failed(why.to_owned()));
            return;
        }
        dial.retried = true;
        self.attach_dial(id);
    }

    /// Parks dial `id`, whose session the peer closed as replaced by one
    /// it dialled itself: it goes on that session once it is established
    /// here, or dials again after [`PARKED_FOR`].
    pub(crate) fn park_dial(&mut self, id: u64, now: Instant) {
        if self.dials.contains_key(&id) {
            self.parked.push((id, now + PARKED_FOR));
        }
    }

    /// Moves the parked dials for the key and protocol of `ch` onto it.
    pub(crate) fn unpark_dials(&mut self, ch: ConnectionHandle) {
        let Some(conn) = self.conns.get(&ch) else {
            return;
        };
        let (key, protocol) = (conn.key, conn.protocol.clone().unwrap_or_default());
        let dials = &self.dials;
        let mut moved = Vec::new();
        self.parked.retain(|(id, _)| {
            let matches = dials
                .get(id)
                .is_some_and(|dial| dial.key == key && dial.protocol == protocol);
            if matches {
                moved.push(*id);
            }
            !matches
        });
        if let Some(conn) = self.conns.get_mut(&ch) {
            conn.dials.extend(moved);
        }
        self.serve_dials(ch);
    }

    /// Dials again the parked dials whose wait is over.
    pub(crate) fn expire_parked(&mut self, now: Instant) {
        let mut due = Vec::new();
        self.parked.retain(|&(id, until)| {
            if until <= now {
                due.push(id);
            }
            until > now
        });
        for id in due {
            self.redial(id, "the replacing session did not come");
        }
    }

    /// Answers dial `id` with `error`.
    pub(crate) fn fail_dial(&mut self, id: u64, error: SessionError) {
        if let Some(dial) = self.dials.remove(&id) {
            let _ = dial.reply.send(Err(error));
        }
    }

    /// Fails the dials waiting for `key` and `protocol`; returns how many.
    pub(crate) fn cancel_dials(&mut self, key: PublicKey, protocol: &str) -> usize {
        let ids: Vec<u64> = self
            .dials
            .iter()
            .filter(|(_, dial)| dial.key == key && dial.protocol == protocol)
            .map(|(&id, _)| id)
            .collect();
        for &id in &ids {
            self.fail_dial(id, SessionError::Cancelled);
        }
        ids.len()
    }
}
