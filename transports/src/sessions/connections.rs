//! The life of a session: incoming attempts and their limits, the
//! handshake's outcome, duplicates, streams opened by the peer, and the
//! end.

use std::time::Instant;

use pinecone_engine::control::Event;
use pinecone_engine::wire::PublicKey;
use quinn_proto::crypto::rustls::HandshakeData;
use quinn_proto::{ConnectionError, ConnectionHandle, Dir, Incoming, StreamEvent};
use rustls::pki_types::CertificateDer;

use super::certificate::certificate_key;
use super::duplicates::{decide, Existing, Outcome};
use super::engine::{close_code, Conn, Engine};
use super::error::SessionError;
use super::handle::SessionInfo;
use super::pump::STREAM_CLOSED;
use super::stats::count;

impl Engine {
    /// Incoming sessions still handshaking.
    fn handshaking_incoming(&self) -> usize {
        self.conns
            .values()
            .filter(|conn| {
                !conn.outbound && conn.established_at.is_none() && conn.closing.is_none()
            })
            .count()
    }

    /// An attempt to open a session from `source`: refused past the
    /// limits, sent a Retry when busy and not yet validated, otherwise
    /// taken with settings bound to `source`.
    pub(crate) fn incoming(
        &mut self,
        incoming: Incoming,
        source: PublicKey,
        now: Instant,
        buf: &mut Vec<u8>,
    ) {
        let handshaking = self.handshaking_incoming();
        let full =
            self.established.load(std::sync::atomic::Ordering::Relaxed) >= self.config.max_sessions;
        if self.listeners.is_empty()
            || handshaking >= self.config.max_incoming_handshakes
            || full
            || source == self.local_key
        {
            count(&self.counters.refused_busy);
            let transmit = self.endpoint.refuse(incoming, buf);
            (self.output)(source, &buf[..transmit.size]);
            return;
        }
        if !incoming.remote_address_validated()
            && handshaking >= self.config.retry_above_handshakes
            && incoming.may_retry()
        {
            count(&self.counters.retries);
            match self.endpoint.retry(incoming, buf) {
                Ok(transmit) => (self.output)(source, &buf[..transmit.size]),
                Err(error) => self.endpoint.ignore(error.into_incoming()),
            }
            return;
        }
        let protocols: Vec<String> = self.listeners.keys().cloned().collect();
        let server = match self.tls.server(source, &protocols) {
            Ok(server) => server,
            Err(error) => {
                tracing::warn!(%error, "cannot make a session server configuration");
                self.endpoint.ignore(incoming);
                return;
            }
        };
        buf.clear();
        match self
            .endpoint
            .accept(incoming, now, buf, Some(std::sync::Arc::new(server)))
        {
            Ok((ch, conn)) => {
                let address = self.book.hold(source);
                self.conns.insert(
                    ch,
                    Conn {
                        conn,
                        key: source,
                        address,
                        protocol: None,
                        outbound: false,
                        established_at: None,
                        registered: false,
                        counted: false,
                        dials: Default::default(),
                        pumps: Default::default(),
                        closing: None,
                        retired: false,
                    },
                );
                self.touched.push(ch);
            }
            Err(error) => {
                count(&self.counters.failed_handshakes);
                if let Some(transmit) = error.response {
                    (self.output)(source, &buf[..transmit.size]);
                }
            }
        }
    }

    /// Handles what connection `ch` has to say: endpoint events, then
    /// application events.
    pub(crate) fn process(&mut self, ch: ConnectionHandle) {
        loop {
            let Some(conn) = self.conns.get_mut(&ch) else {
                return;
            };
            let mut drained = false;
            while let Some(event) = conn.conn.poll_endpoint_events() {
                drained |= event.is_drained();
                if let Some(reply) = self.endpoint.handle_event(ch, event) {
                    conn.conn.handle_event(reply);
                }
            }
            let Some(event) = conn.conn.poll() else {
                if drained {
                    self.drained(ch);
                }
                return;
            };
            match event {
                quinn_proto::Event::Connected => self.connected(ch),
                quinn_proto::Event::ConnectionLost { reason } => self.lost(ch, &reason),
                quinn_proto::Event::Stream(StreamEvent::Opened { dir: Dir::Bi }) => {
                    self.accept_streams(ch);
                }
                quinn_proto::Event::Stream(
                    StreamEvent::Readable { id }
                    | StreamEvent::Writable { id }
                    | StreamEvent::Stopped { id, .. },
                ) => {
                    if let Some(&token) = conn.pumps.get(&id) {
                        self.ready_pump(token);
                    }
                }
                quinn_proto::Event::Stream(StreamEvent::Available { dir: Dir::Bi }) => {
                    self.serve_dials(ch);
                }
                _ => {}
            }
        }
    }

    /// The handshake of `ch` completed.
    fn connected(&mut self, ch: ConnectionHandle) {
        let now = Instant::now();
        let Some(conn) = self.conns.get_mut(&ch) else {
            return;
        };
        conn.established_at = Some(now);
        if conn.outbound {
            if conn.retired {
                return;
            }
            self.opened(ch);
            self.serve_dials(ch);
            return;
        }
        let protocol = conn
            .conn
            .crypto_session()
            .handshake_data()
            .and_then(|data| data.downcast::<HandshakeData>().ok())
            .and_then(|data| data.protocol)
            .and_then(|name| String::from_utf8(name).ok());
        let certified = conn
            .conn
            .crypto_session()
            .peer_identity()
            .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
            .and_then(|chain| match chain.as_slice() {
                [single] => certificate_key(single),
                _ => None,
            });
        let key = conn.key;
        let refusal = match (&protocol, certified) {
            (None, _) => Some("no application protocol"),
            (Some(name), _) if !self.listeners.contains_key(name) => {
                Some("protocol not listened for")
            }
            (_, Some(certified)) if certified == key => None,
            _ => Some("certificate does not match the source key"),
        };
        if let Some(refusal) = refusal {
            count(&self.counters.failed_handshakes);
            conn.conn.close(now, close_code::REFUSED, refusal.into());
            conn.closing = Some(refusal.to_owned());
            return;
        }
        let protocol = protocol.unwrap_or_default();
        conn.protocol = Some(protocol.clone());
        let entry = (protocol, key);
        if let Some(&existing_ch) = self.sessions.get(&entry) {
            let existing = self.conns.get(&existing_ch).map(|old| Existing {
                outbound: old.outbound,
                established_at: old.established_at,
            });
            if let Some(existing) = existing {
                match decide(existing, &self.local_key, &key, now) {
                    Outcome::Replace => {
                        count(&self.counters.replaced);
                        if let Some(old) = self.conns.get_mut(&existing_ch) {
                            old.conn
                                .close(now, close_code::REPLACED, "connection replaced".into());
                            old.closing = Some("connection replaced".to_owned());
                        }
                        self.touched.push(existing_ch);
                        self.list_instead(existing_ch, ch, "connection replaced");
                    }
                    Outcome::KeepBoth {
                        incoming_listed: true,
                    } => self.list_instead(existing_ch, ch, "the other node's dial is kept"),
                    Outcome::KeepBoth {
                        incoming_listed: false,
                    } => {
                        // Stays open, unlisted, for the streams the other
                        // node may already have opened on it.
                        if let Some(conn) = self.conns.get_mut(&ch) {
                            conn.retired = true;
                        }
                    }
                }
                return;
            }
        }
        self.sessions.insert(entry, ch);
        if let Some(conn) = self.conns.get_mut(&ch) {
            conn.registered = true;
        }
        self.opened(ch);
    }

    /// Lists `new` instead of `old` (which stays open only if not closed
    /// already), moving the dials waiting on `old`.
    fn list_instead(&mut self, old: ConnectionHandle, new: ConnectionHandle, reason: &str) {
        let dials: Vec<u64> = self
            .conns
            .get_mut(&old)
            .map(|conn| {
                conn.retired = true;
                conn.dials.drain(..).collect()
            })
            .unwrap_or_default();
        self.unregister(old, reason);
        let Some(conn) = self.conns.get_mut(&new) else {
            return;
        };
        conn.registered = true;
        conn.dials.extend(dials);
        if let Some(protocol) = conn.protocol.clone() {
            self.sessions.insert((protocol, conn.key), new);
        }
        self.opened(new);
        self.serve_dials(new);
    }

    /// Counts a session established and tells the subscribers.
    fn opened(&mut self, ch: ConnectionHandle) {
        let Some(conn) = self.conns.get_mut(&ch) else {
            return;
        };
        if conn.counted {
            return;
        }
        conn.counted = true;
        self.established
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(peer = %conn.key, protocol = ?conn.protocol, outbound = conn.outbound, "session opened");
        (self.events)(Event::SessionOpened {
            key: conn.key,
            protocol: conn.protocol.clone().unwrap_or_default(),
            outbound: conn.outbound,
        });
        self.unpark_dials(ch);
    }

    /// Takes `ch` out of the session table and the count (telling the
    /// subscribers when it was established).
    pub(crate) fn unregister(&mut self, ch: ConnectionHandle, reason: &str) {
        let Some(conn) = self.conns.get_mut(&ch) else {
            return;
        };
        if conn.registered {
            conn.registered = false;
            if let Some(protocol) = &conn.protocol {
                let entry = (protocol.clone(), conn.key);
                if self.sessions.get(&entry) == Some(&ch) {
                    self.sessions.remove(&entry);
                }
            }
        }
        if conn.counted {
            conn.counted = false;
            self.established
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(peer = %conn.key, protocol = ?conn.protocol, %reason, "session closed");
            (self.events)(Event::SessionClosed {
                key: conn.key,
                protocol: conn.protocol.clone().unwrap_or_default(),
                reason: reason.to_owned(),
            });
        }
    }

    /// Connection `ch` ended: its streams end, its dials move on or fail.
    fn lost(&mut self, ch: ConnectionHandle, reason: &ConnectionError) {
        let Some(conn) = self.conns.get_mut(&ch) else {
            return;
        };
        if conn.established_at.is_none() && conn.closing.is_none() {
            if conn.outbound {
                count(&self.counters.failed_dials);
            } else {
                count(&self.counters.failed_handshakes);
            }
        }
        let why = conn.closing.clone().unwrap_or_else(|| reason.to_string());
        let established = conn.established_at.is_some();
        let replaced_by_peer = matches!(reason,
            ConnectionError::ApplicationClosed(close) if close.error_code == close_code::REPLACED);
        let tokens: Vec<_> = conn.pumps.values().copied().collect();
        let dials: Vec<u64> = conn.dials.drain(..).collect();
        self.unregister(ch, &why);
        for token in tokens {
            self.remove_pump(token);
        }
        for id in dials {
            if replaced_by_peer {
                // The peer keeps a session it dialled: wait for it.
                self.park_dial(id, Instant::now());
            } else if established {
                self.redial(id, &why);
            } else {
                self.fail_dial(id, SessionError::Failed(why.clone()));
            }
        }
    }

    /// Connection `ch` is gone from the endpoint: forget it.
    fn drained(&mut self, ch: ConnectionHandle) {
        self.unregister(ch, "drained");
        if let Some(conn) = self.conns.remove(&ch) {
            self.book.release(conn.address);
            for token in conn.pumps.into_values() {
                self.remove_pump(token);
            }
            for id in conn.dials {
                self.redial(id, "the session ended");
            }
        }
    }

    /// Takes the streams the peer opened on `ch`: each goes to its
    /// protocol's accept queue, or is refused when there is no listener
    /// or the queue is full.
    fn accept_streams(&mut self, ch: ConnectionHandle) {
        loop {
            let Some(conn) = self.conns.get_mut(&ch) else {
                return;
            };
            let Some(id) = conn.conn.streams().accept(Dir::Bi) else {
                return;
            };
            let queue = conn
                .protocol
                .as_ref()
                .and_then(|protocol| self.listeners.get(protocol))
                .map(|(queue, _)| queue.clone());
            let accepted = queue.is_some_and(|queue| match self.new_stream(ch, id) {
                Ok(stream) => queue.try_send(stream).is_ok(),
                Err(error) => {
                    tracing::warn!(%error, "cannot open a socket pair for a session stream");
                    false
                }
            });
            if !accepted {
                count(&self.counters.refused_streams);
                if let Some(conn) = self.conns.get_mut(&ch) {
                    if let Some(token) = conn.pumps.remove(&id) {
                        self.remove_pump(token);
                    }
                }
                if let Some(conn) = self.conns.get_mut(&ch) {
                    let _ = conn.conn.recv_stream(id).stop(STREAM_CLOSED);
                    let _ = conn.conn.send_stream(id).reset(STREAM_CLOSED);
                }
            }
        }
    }

    /// The sessions established, for listing.
    pub(crate) fn list(&self) -> Vec<SessionInfo> {
        self.conns
            .values()
            .filter(|conn| conn.counted)
            .map(|conn| SessionInfo {
                remote_key: conn.key,
                protocol: conn.protocol.clone().unwrap_or_default(),
                outbound: conn.outbound,
                streams: conn.pumps.len(),
            })
            .collect()
    }
}
