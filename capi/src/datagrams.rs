//! Sending and receiving datagrams.

use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use pinecone_engine::wire::{PublicKey, MAX_FRAME_LEN};

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

/// The largest frame a peering carries, in bytes: a buffer this large
/// holds any frame, and any datagram's payload.
pub const PINECONE_MAX_FRAME_SIZE: usize = 65_535;

// Written out above so that the header gets the number.
const _: () = assert!(PINECONE_MAX_FRAME_SIZE == MAX_FRAME_LEN);

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
/// With a zero timeout it only looks: on an empty queue it costs well
/// under a microsecond (no system call), so a host may call it after
/// every wakeup of the descriptor from `pinecone_node_datagram_fd`.
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
        let timeout = u64::try_from(timeout_ms).map_or(Duration::MAX, Duration::from_millis);
        let started = (timeout_ms != 0).then(Instant::now);
        let Some(datagram) = call.node().recv_timeout(timeout) else {
            // A wait cut short, or any wait on a handle being shut, means
            // the node stopped rather than that time ran out.
            let cut_short = started.is_some_and(|at| at.elapsed() < timeout);
            if call.is_closing() || cut_short {
                return Err(Failure("the node is shut down".to_owned()));
            }
            return Ok(PINECONE_TIMED_OUT);
        };
        let len = datagram.payload.len();
        if len > out.len() {
            call.node().hand_back(datagram);
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

/// A file descriptor that is readable while datagrams wait for
/// `pinecone_node_recv`, for a host that waits in an event loop of its
/// own (epoll, poll, select, libuv, Go's netpoller) rather than in a
/// receive. Returns it, or -1 on failure.
///
/// Level semantics: from the first call of this function on, the
/// descriptor is readable whenever at least one datagram waits, and stops
/// being readable when a receive leaves the queue empty; once the node is
/// shut down it stays readable (and receives fail). Wait for it to be
/// readable (`POLLIN`/`EPOLLIN`, level- or edge-triggered), then call
/// `pinecone_node_recv` with a zero timeout until it answers -2. With
/// several receivers, a wakeup may find that another took the datagram.
///
/// The descriptor belongs to the node: do not read, write or close it,
/// and stop polling it before `pinecone_node_free`, which closes it.
/// Every call returns the same descriptor.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_datagram_fd(node: *mut PineconeNode) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        Ok(call.node().datagram_fd().as_raw_fd())
    })
}
