//! End-to-end sessions: listening for a protocol, accepting and dialling
//! streams, and looking at the sessions open.
//!
//! A stream is handed to the caller as a file descriptor: a connected
//! `AF_UNIX` stream socket, blocking, close-on-exec, owned by the caller,
//! whose other end the node pumps to and from the QUIC stream. `read` and
//! `write` move the stream's bytes; `shutdown(fd, SHUT_WR)` finishes the
//! sending side; `close` flushes what was written, finishes the stream
//! and tells the peer to stop sending (written data is never discarded).
//! The peer's end, a reset, or the session ending read as the end of the
//! stream. Buffering is bounded both ways (the socket's buffers, one
//! 64 KiB chunk, and QUIC's windows).
//!
//! The session endpoint starts at the first of these calls on a node; from
//! then on every datagram addressed to the node goes to it, so
//! `pinecone_node_recv` receives nothing more.

use std::ffi::{c_char, c_int};
use std::os::fd::IntoRawFd;
use std::time::Duration;

use pinecone_engine::wire::PublicKey;
use pinecone_transports::{SessionError, SessionStream};
use serde_json::{json, Value};

use crate::boundary::{answer_into, non_null, read_32, read_str, run, write_32, Failure};
use crate::datagrams::PINECONE_TIMED_OUT;
use crate::handle::{enter, PineconeNode};

/// A timeout in milliseconds as the ABI takes it: negative waits for
/// ever, 0 not at all.
fn timeout_of(timeout_ms: c_int) -> Option<Duration> {
    u64::try_from(timeout_ms).ok().map(Duration::from_millis)
}

/// A stream as the caller's descriptor, or -2 on a timeout.
fn descriptor(result: Result<SessionStream, SessionError>) -> Result<c_int, Failure> {
    match result {
        Ok(stream) => Ok(stream.into_fd().into_raw_fd()),
        Err(SessionError::TimedOut) => Ok(PINECONE_TIMED_OUT as c_int),
        Err(error) => Err(error.into()),
    }
}

/// Accepts session streams for `protocol` (a NUL-terminated ALPN name of
/// 1 to 255 bytes, e.g. "matrix") from now on; listening again for the
/// same protocol does nothing. Returns 0, or -1 on failure (NULL or
/// invalid arguments, the node shut down).
///
/// # Safety
///
/// `node` is NULL or a live handle; `protocol` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_sessions_listen(
    node: *mut PineconeNode,
    protocol: *const c_char,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let protocol = unsafe { read_str(protocol, "protocol") }?;
        call.node().listen_sessions(protocol)?;
        Ok(0)
    })
}

/// Stops accepting sessions and streams for `protocol`: new ones are
/// refused, streams not yet accepted are closed, and every
/// `pinecone_node_session_accept` waiting for it returns -1. Sessions
/// already open stay, for the streams this node dials. Returns 0, or -1
/// on failure (not listening for it, NULL arguments, the node shut down).
///
/// # Safety
///
/// As for `pinecone_node_sessions_listen`.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_sessions_unlisten(
    node: *mut PineconeNode,
    protocol: *const c_char,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let protocol = unsafe { read_str(protocol, "protocol") }?;
        call.node().unlisten_sessions(protocol)?;
        Ok(0)
    })
}

/// Waits at most `timeout_ms` milliseconds (for ever when negative, not at
/// all when 0) for the next stream another node opened for `protocol`.
/// Writes the dialler's 32-byte key, authenticated by the session's
/// handshake, to `remote_key_out` and returns the stream's descriptor;
/// returns -2 when none came in time, or -1 on failure (NULL arguments,
/// not listening for `protocol` or no longer, the node shut down, also
/// while waiting).
///
/// # Safety
///
/// `node` is NULL or a live handle; `protocol` is NULL or a NUL-terminated
/// string; `remote_key_out` is NULL or points to 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_session_accept(
    node: *mut PineconeNode,
    protocol: *const c_char,
    remote_key_out: *mut u8,
    timeout_ms: c_int,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let protocol = unsafe { read_str(protocol, "protocol") }?;
        non_null(remote_key_out, "remote_key_out")?;
        let result = call.node().accept_session(protocol, timeout_of(timeout_ms));
        if let Ok(stream) = &result {
            // SAFETY: not NULL (checked above); the caller promises 32
            // writable bytes.
            unsafe { write_32(remote_key_out, &stream.remote_key().0, "remote_key_out") }?;
        }
        descriptor(result)
    })
}

/// Opens a stream to the node whose 32-byte key is at `remote_key` for
/// `protocol`, over the session with it (dialled now when there is none),
/// waiting at most `timeout_ms` milliseconds (for ever when negative).
/// The other node learns of the stream with its first byte: write first.
/// Returns the stream's descriptor, -2 when it did not open in time, or
/// -1 on failure (NULL or invalid arguments, this node's own key, the
/// handshake failed or the server's certificate is not the key's, the
/// dial was cancelled, the node shut down).
///
/// # Safety
///
/// `node` is NULL or a live handle; `remote_key` is NULL or points to 32
/// readable bytes; `protocol` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_session_dial(
    node: *mut PineconeNode,
    remote_key: *const u8,
    protocol: *const c_char,
    timeout_ms: c_int,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or 32 readable bytes.
        let key = PublicKey(unsafe { read_32(remote_key, "remote_key") }?);
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let protocol = unsafe { read_str(protocol, "protocol") }?;
        descriptor(
            call.node()
                .dial_session(key, protocol, timeout_of(timeout_ms)),
        )
    })
}

/// Cancels every `pinecone_node_session_dial` waiting for `remote_key`
/// and `protocol`: each returns -1. Returns how many were cancelled, or
/// -1 on failure (NULL arguments, the node shut down).
///
/// # Safety
///
/// As for `pinecone_node_session_dial`.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_session_dial_cancel(
    node: *mut PineconeNode,
    remote_key: *const u8,
    protocol: *const c_char,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or 32 readable bytes.
        let key = PublicKey(unsafe { read_32(remote_key, "remote_key") }?);
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let protocol = unsafe { read_str(protocol, "protocol") }?;
        let cancelled = call.node().cancel_session_dials(key, protocol)?;
        Ok(c_int::try_from(cancelled)?)
    })
}

/// Writes the established sessions, a JSON array, as a NUL-terminated
/// string into `buf` (`cap` bytes) when it fits. Each element has `"key"`
/// (the other node's, lowercase hex), `"protocol"`, `"outbound"` (whether
/// this node dialled it) and `"streams"` (streams open on it). Returns
/// the bytes the whole string needs, NUL included (nothing was written
/// when that is more than `cap`; `buf` may be NULL with `cap` 0 to ask),
/// or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle; `buf` is NULL or points to `cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_sessions_json(
    node: *mut PineconeNode,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let sessions: Vec<Value> = call
            .node()
            .sessions()?
            .iter()
            .map(|session| {
                json!({
                    "key": session.remote_key.to_string(),
                    "protocol": session.protocol,
                    "outbound": session.outbound,
                    "streams": session.streams,
                })
            })
            .collect();
        let mut text = Value::Array(sessions).to_string().into_bytes();
        text.push(0);
        // SAFETY: the caller promises NULL or `cap` writable bytes.
        let needed = unsafe { answer_into(buf.cast::<u8>(), cap, &text, "buf") }?;
        Ok(c_int::try_from(needed)?)
    })
}

/// How many sessions are established (0 before the first session call),
/// or -1 on failure (`node` NULL or shut down).
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_session_count(node: *mut PineconeNode) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        Ok(c_int::try_from(call.node().session_count())?)
    })
}

/// Closes every session with the node whose 32-byte key is at
/// `remote_key` (their streams end). Returns how many were established,
/// or -1 on failure (NULL arguments, the node shut down).
///
/// # Safety
///
/// `node` is NULL or a live handle; `remote_key` is NULL or points to 32
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_sessions_close(
    node: *mut PineconeNode,
    remote_key: *const u8,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or 32 readable bytes.
        let key = PublicKey(unsafe { read_32(remote_key, "remote_key") }?);
        Ok(c_int::try_from(call.node().close_sessions(key)?)?)
    })
}
