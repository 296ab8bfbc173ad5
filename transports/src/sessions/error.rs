//! What can go wrong with a session call.

/// Why a session call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No listener for this protocol (also for an accept waiting when the
    /// protocol stopped being listened for).
    #[error("not listening for protocol {0:?}")]
    NotListening(String),
    /// Nothing came in time.
    #[error("timed out")]
    TimedOut,
    /// The dial was cancelled by [`Node::cancel_session_dials`](crate::Node::cancel_session_dials).
    #[error("the dial was cancelled")]
    Cancelled,
    /// A node cannot open a session with itself.
    #[error("a node cannot dial itself")]
    SelfDial,
    /// The protocol name is empty, longer than 255 bytes or holds a NUL.
    #[error("invalid protocol name: {0}")]
    InvalidProtocol(&'static str),
    /// The limit on sessions is reached.
    #[error("too many sessions (the limit is {0})")]
    TooManySessions(usize),
    /// The session could not be set up, or ended before the stream opened.
    #[error("the session failed: {0}")]
    Failed(String),
    /// The node is shut down.
    #[error("the node is shut down")]
    Stopped,
    /// The session endpoint could not start.
    #[error("the session endpoint could not start: {0}")]
    Start(String),
}

/// Checks a protocol name: 1 to 255 bytes (an ALPN name), no NUL.
pub(crate) fn check_protocol(protocol: &str) -> Result<(), SessionError> {
    if protocol.is_empty() {
        return Err(SessionError::InvalidProtocol("empty"));
    }
    if protocol.len() > 255 {
        return Err(SessionError::InvalidProtocol("longer than 255 bytes"));
    }
    if protocol.contains('\0') {
        return Err(SessionError::InvalidProtocol("holds a NUL"));
    }
    Ok(())
}
