//! Conduits: peerings whose bytes the embedding program carries itself,
//! over whatever link it has (for example a Bluetooth L2CAP channel).
//!
//! A conduit is one end of a Unix socket pair whose other end the node
//! peers over. What the program receives from the remote side goes in
//! with [`pinecone_conduit_write`]; what the node sends to the remote side
//! comes out of [`pinecone_conduit_read`].

use std::ffi::{c_char, c_int};
use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::ptr::null_mut;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pinecone_transports::{PeerOrigin, PeerStream};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::net::{recv, RecvFlags};

use crate::attach::{read_uri, read_zone};
use crate::boundary::{read_bytes, run, write_bytes, Failure};
use crate::datagrams::PINECONE_TIMED_OUT;
use crate::gate::{enter, CallGate, Gated};
use crate::handle;
use crate::peer_types::peer_type;
use crate::PineconeNode;

/// An opaque conduit handle (`pinecone_conduit` in C).
pub struct PineconeConduit {
    /// The program's end of the socket pair.
    stream: PeerStream,
    gate: CallGate,
    /// How the handshake ended, once it has.
    outcome: Arc<HandshakeOutcome>,
}

/// How a conduit's handshake ended: `None` while it runs, then whether
/// the peering came up or why not.
#[derive(Default)]
struct HandshakeOutcome {
    result: Mutex<Option<Result<(), String>>>,
    ended: Condvar,
}

impl HandshakeOutcome {
    fn set(&self, result: Result<(), String>) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        self.ended.notify_all();
    }

    /// Waits until the handshake ends or `deadline` (never when `None`)
    /// passes; `None` when it is still running.
    fn wait(&self, deadline: Option<Instant>) -> Option<Result<(), String>> {
        let mut result = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(outcome) = result.as_ref() {
                return Some(outcome.clone());
            }
            result = match deadline {
                None => self
                    .ended
                    .wait(result)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.ended
                        .wait_timeout(result, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

impl Gated for PineconeConduit {
    const SHUT: &'static str = "the conduit is freed";

    fn gate(&self) -> &CallGate {
        &self.gate
    }
}

/// Starts a peering of `node` whose bytes the caller carries, with the
/// medium `peer_type` (a `PINECONE_PEER_*` number) and `zone` (NULL for
/// none). Returns at once: the handshake runs in the background as the
/// caller moves bytes both ways, and the peering comes up when it
/// succeeds (`pinecone_conduit_wait_up` waits for that). If it fails, or
/// the peering ends for any reason, `pinecone_conduit_read` returns 0.
/// Returns NULL on failure. Release the conduit with
/// `pinecone_conduit_free`, also after the node is freed. The peering's
/// URI is "conduit"; see `pinecone_node_conduit_new_uri` to give another.
///
/// # Safety
///
/// `node` is NULL or a live handle; `zone` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_conduit_new(
    node: *mut PineconeNode,
    peer_type: c_int,
    zone: *const c_char,
) -> *mut PineconeConduit {
    // SAFETY: as promised by the caller; NULL is no URI.
    unsafe { pinecone_node_conduit_new_uri(node, peer_type, zone, std::ptr::null()) }
}

/// As `pinecone_node_conduit_new`, with the peering's URI given by the
/// caller (NULL for "conduit"), as the reference's `ConnectionURI` option
/// gives it: what the peer list and the state dump show.
///
/// # Safety
///
/// As for `pinecone_node_conduit_new`; `uri` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_conduit_new_uri(
    node: *mut PineconeNode,
    peer_type: c_int,
    zone: *const c_char,
    uri: *const c_char,
) -> *mut PineconeConduit {
    run(null_mut(), || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { handle::enter(node) }?;
        let peer_type = self::peer_type(peer_type)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let zone = unsafe { read_zone(zone) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let uri = unsafe { read_uri(uri) }?;
        let (ours, theirs) = UnixStream::pair()?;
        let origin = PeerOrigin {
            peer_type,
            zone,
            uri: uri.unwrap_or_else(|| "conduit".to_owned()),
            outbound: false,
        };
        let outcome = Arc::new(HandshakeOutcome::default());
        let outcome_of_thread = Arc::clone(&outcome);
        let node = Arc::clone(call.node());
        let pending = Arc::clone(call.handshakes());
        let id = pending.add(&theirs)?;
        // The handshake needs the remote's bytes, which only arrive once
        // this call has returned the conduit: attach on another thread.
        let attaching = thread::Builder::new()
            .name("pinecone-conduit".to_owned())
            .spawn(move || {
                // A failed handshake is logged by the node and ends the
                // stream, which the conduit's reader sees.
                let attached = node.attach(PeerStream::Unix(theirs), origin);
                pending.remove(id);
                outcome_of_thread.set(attached.map(drop).map_err(|error| error.to_string()));
            });
        if let Err(error) = attaching {
            call.handshakes().remove(id);
            return Err(error.into());
        }
        Ok(Box::into_raw(Box::new(PineconeConduit {
            stream: PeerStream::Unix(ours),
            gate: CallGate::default(),
            outcome,
        })))
    })
}

/// Waits at most `timeout_ms` milliseconds (forever when negative) for
/// the conduit's handshake to end, which it does within the handshake
/// deadline (a few seconds) once bytes move both ways. Returns 0 when the
/// peering is up, -1 when the handshake failed (the reason in
/// `pinecone_last_error`: a bad handshake, a refusal at a limit, the node
/// shut down) or on a NULL conduit, and -2 (`PINECONE_TIMED_OUT`) when it
/// is still running. Once it has ended every call answers the same.
///
/// # Safety
///
/// `conduit` is NULL or a live conduit.
#[no_mangle]
pub unsafe extern "C" fn pinecone_conduit_wait_up(
    conduit: *mut PineconeConduit,
    timeout_ms: i32,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live conduit.
        let call = unsafe { enter(conduit, "conduit") }?;
        let deadline = u64::try_from(timeout_ms)
            .ok()
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        match call.outcome.wait(deadline) {
            None => Ok(PINECONE_TIMED_OUT as c_int),
            Some(Ok(())) => Ok(0),
            Some(Err(reason)) => Err(Failure(reason)),
        }
    })
}

/// Hands the node the `len` bytes at `data`, received from the remote
/// side. Blocks while the node is behind. Returns 0, or -1 on failure: a
/// NULL argument, the peering ended or closed.
///
/// # Safety
///
/// `conduit` is NULL or a live conduit; `data` is NULL or points to `len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_conduit_write(
    conduit: *mut PineconeConduit,
    data: *const u8,
    len: usize,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live conduit.
        let call = unsafe { enter(conduit, "conduit") }?;
        // SAFETY: the caller promises NULL or `len` readable bytes.
        let bytes = unsafe { read_bytes(data, len, "data") }?;
        (&call.stream)
            .write_all(bytes)
            .map_err(|error| Failure(format!("the conduit's peering has ended: {error}")))?;
        Ok(0)
    })
}

/// Waits at most `timeout_ms` milliseconds (forever when negative) for
/// bytes the node sends to the remote side and copies up to `cap` of them
/// into `buf`. Returns how many (at least 1), 0 once the peering has ended
/// (the handshake failed, the node closed it or shut down, or
/// `pinecone_conduit_close` was called), -2 (`PINECONE_TIMED_OUT`) when
/// none came in time, or -1 on failure: a NULL argument, `cap` 0.
///
/// # Safety
///
/// `conduit` is NULL or a live conduit; `buf` is NULL or points to `cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_conduit_read(
    conduit: *mut PineconeConduit,
    buf: *mut u8,
    cap: usize,
    timeout_ms: i32,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live conduit.
        let call = unsafe { enter(conduit, "conduit") }?;
        if cap == 0 {
            return Err(Failure("cap is 0".to_owned()));
        }
        // SAFETY: the caller promises NULL or `cap` writable bytes.
        let out = unsafe { write_bytes(buf, cap, "buf") }?;
        let deadline = u64::try_from(timeout_ms)
            .ok()
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        loop {
            // Another reader may take the bytes between poll and recv, so
            // recv does not wait: it goes back to poll instead.
            match recv(&call.stream, &mut *out, RecvFlags::DONTWAIT) {
                Ok((_, len)) => return Ok(i64::try_from(len)?),
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(error) => return Err(Failure::from(error)),
            }
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(PINECONE_TIMED_OUT);
            }
            let timeout = left.map(Timespec::try_from).transpose()?;
            let mut fds = [PollFd::new(&call.stream, PollFlags::IN)];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(error) => return Err(Failure::from(error)),
            }
        }
    })
}

/// Ends the conduit's peering: the node sees its stream end, a blocked
/// `pinecone_conduit_read` returns 0 and later writes fail. The conduit
/// stays valid until `pinecone_conduit_free`. Returns 0, or -1 when
/// `conduit` is NULL.
///
/// # Safety
///
/// `conduit` is NULL or a live conduit.
#[no_mangle]
pub unsafe extern "C" fn pinecone_conduit_close(conduit: *mut PineconeConduit) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live conduit.
        let call = unsafe { enter(conduit, "conduit") }?;
        shut_stream(&call.stream)?;
        Ok(0)
    })
}

/// Closes the conduit (as `pinecone_conduit_close`) and releases it;
/// calls blocked on it on other threads return first. NULL does nothing.
///
/// # Safety
///
/// `conduit` is NULL or came from `pinecone_node_conduit_new` and was not
/// freed yet; no call on it may start once this has begun.
#[no_mangle]
pub unsafe extern "C" fn pinecone_conduit_free(conduit: *mut PineconeConduit) {
    if conduit.is_null() {
        return;
    }
    run((), || {
        // SAFETY: not NULL; the caller promises a live conduit that nothing
        // frees concurrently.
        let handle = unsafe { &*conduit };
        handle.gate.shut();
        // Wakes calls blocked on the stream; nothing to do if it fails.
        let _ = handle.stream.shutdown(Shutdown::Both);
        handle.gate.wait_idle();
        // SAFETY: from `Box::into_raw` in `pinecone_node_conduit_new`; no
        // call borrows it any more.
        drop(unsafe { Box::from_raw(conduit) });
        Ok(())
    })
}

/// Shuts both directions of `stream`; one already shut is fine.
fn shut_stream(stream: &PeerStream) -> Result<(), Failure> {
    match stream.shutdown(Shutdown::Both) {
        Err(error) if error.kind() != ErrorKind::NotConnected => Err(error.into()),
        _ => Ok(()),
    }
}
