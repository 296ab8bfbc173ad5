//! Sending and receiving datagrams.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use pinecone_engine::wire::PublicKey;

use crate::boundary::{read_32, read_bytes, run, write_32, write_bytes, Failure};
use crate::handle::{enter, PineconeNode};

/// What `pinecone_node_recv` returns when no datagram came in time.
pub const PINECONE_TIMED_OUT: i64 = -2;

/// Sends the `len` bytes at `data` as a datagram to the node whose
/// 32-byte public key is at `dest32`. `data` may be NULL when `len` is 0.
/// Returns 0 once the datagram is on its way (delivery is not
/// guaranteed), or -1 on failure: no route yet, a datagram too large for
/// one frame, a NULL argument, a node shut down.
///
/// # Safety
///
/// `node` is NULL or a live handle; `dest32` is NULL or points to 32
/// readable bytes; `data` is NULL or points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_send(
    node: *mut PineconeNode,
    dest32: *const u8,
    data: *const u8,
    len: usize,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        // SAFETY: the caller promises NULL or 32 readable bytes.
        let dest = PublicKey(unsafe { read_32(dest32, "dest32") }?);
        // SAFETY: the caller promises NULL or `len` readable bytes.
        let payload = unsafe { read_bytes(data, len, "data") }?;
        call.node().send(dest, payload)?;
        Ok(0)
    })
}

/// Waits for the next datagram for at most `timeout_ms` milliseconds
/// (forever when negative, not at all when 0). Writes its sender's 32-byte
/// key to `src32` and its payload to `buf`, which holds `cap` bytes (`buf`
/// may be NULL when `cap` is 0). Returns the payload's length, -2
/// (`PINECONE_TIMED_OUT`) when none came in time, or -1 on failure: a NULL
/// argument, the node shut down (also when `pinecone_node_shutdown` or
/// `pinecone_node_free` runs while waiting), or a datagram longer than
/// `cap`. A datagram longer than `cap` is not lost: nothing is written,
/// `pinecone_last_error` says how many bytes it needs, and it stays first
/// in line, so the next receive on the node (with a bigger buffer) gets
/// it.
///
/// # Safety
///
/// `node` is NULL or a live handle; `src32` is NULL or points to 32
/// writable bytes; `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_recv(
    node: *mut PineconeNode,
    src32: *mut u8,
    buf: *mut u8,
    cap: usize,
    timeout_ms: i32,
) -> i64 {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        if src32.is_null() {
            return Err(Failure("src32 is NULL".to_owned()));
        }
        // SAFETY: the caller promises NULL or `cap` writable bytes.
        let out = unsafe { write_bytes(buf, cap, "buf") }?;
        let (datagram, was_held) = match call.held().take() {
            Some(datagram) => (datagram, true),
            None => {
                let timeout =
                    u64::try_from(timeout_ms).map_or(Duration::MAX, Duration::from_millis);
                let started = Instant::now();
                let Some(datagram) = call.node().recv_timeout(timeout) else {
                    // A wait cut short, or any wait on a handle being shut,
                    // means the node stopped rather than that time ran out.
                    if call.is_closing() || started.elapsed() < timeout {
                        return Err(Failure("the node is shut down".to_owned()));
                    }
                    return Ok(PINECONE_TIMED_OUT);
                };
                (datagram, false)
            }
        };
        let len = datagram.payload.len();
        if len > out.len() {
            call.held().hold(datagram, was_held);
            return Err(Failure(format!(
                "a {len}-byte datagram does not fit in a {}-byte buffer; it is kept for the next receive",
                out.len()
            )));
        }
        out[..len].copy_from_slice(&datagram.payload);
        // SAFETY: not NULL (checked above); the caller promises 32 writable
        // bytes.
        unsafe { write_32(src32, &datagram.source.0, "src32") }?;
        Ok(i64::try_from(len)?)
    })
}
