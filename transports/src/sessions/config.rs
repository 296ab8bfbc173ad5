//! Settings of a node's session endpoint: every limit it keeps, each with
//! a default an operator may change.

use std::time::Duration;

/// The largest QUIC datagram sent or accepted: the reference's quic-go
/// reads into buffers of this size and truncates longer datagrams, so no
/// packet may be longer. Path-MTU discovery is off, so this is also every
/// connection's MTU.
pub const MAX_QUIC_DATAGRAM: u16 = 1_452;

/// Settings of the session endpoint (`NodeConfig::sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// A session with no traffic for this long is closed (both ends
    /// announce it in the handshake and the smaller wins). Default 15 s,
    /// as the reference.
    pub idle_timeout: Duration,
    /// Send a keepalive on a quiet session this often, keeping it open
    /// while idle. Default none, as the reference: an idle session closes
    /// after [`idle_timeout`](Self::idle_timeout) and the next dial opens a
    /// new one.
    pub keep_alive: Option<Duration>,
    /// Incoming sessions being set up (handshaking) at once. Attempts past
    /// it are refused (counted in `SessionStats::refused_busy`). Default 64.
    pub max_incoming_handshakes: usize,
    /// Above this many incoming handshakes at once, an attempt whose
    /// source has not proved it receives at its key gets a QUIC Retry
    /// first (address validation; counted in `SessionStats::retries`), so
    /// that a forged source key cannot make this node send handshake
    /// replies toward a victim. Default 8; 0 retries every attempt.
    pub retry_above_handshakes: usize,
    /// Established sessions in total, both directions. Incoming attempts
    /// past it are refused (`SessionStats::refused_busy`) and dials fail.
    /// Default 1,024.
    pub max_sessions: usize,
    /// Streams the other side may have open at once on one session; a
    /// peer opening more waits for QUIC stream credit. Default 128.
    pub max_streams_per_session: u32,
    /// Streams received for one protocol and waiting to be accepted; a
    /// stream past it is refused (stopped and reset; counted in
    /// `SessionStats::refused_streams`). Default 128.
    pub accept_backlog: usize,
    /// Flow-control window of one stream, bytes the peer may send ahead
    /// of what this node has passed to the application. Default 2 MiB.
    pub stream_receive_window: u32,
    /// Flow-control window of a whole session, all streams together.
    /// Default 8 MiB.
    pub session_receive_window: u32,
    /// Bytes sent and not yet acknowledged on one session, all streams
    /// together. Default 8 MiB.
    pub send_window: u64,
    /// Bytes a handshaking incoming session may have buffered before it
    /// is accepted, and all of them together: 64 KiB and 4 MiB.
    pub incoming_buffer: u64,
    /// See [`incoming_buffer`](Self::incoming_buffer).
    pub incoming_buffer_total: u64,
    /// Datagrams from the node waiting for the session thread; past it
    /// they are dropped (`SessionStats::datagrams_dropped`) and QUIC
    /// retransmits. Default 8,192 (about 12 MiB at most).
    pub datagram_queue: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: Duration::from_secs(15),
            keep_alive: None,
            max_incoming_handshakes: 64,
            retry_above_handshakes: 8,
            max_sessions: 1_024,
            max_streams_per_session: 128,
            accept_backlog: 128,
            stream_receive_window: 2 << 20,
            session_receive_window: 8 << 20,
            send_window: 8 << 20,
            incoming_buffer: 64 << 10,
            incoming_buffer_total: 4 << 20,
            datagram_queue: 8_192,
        }
    }
}
