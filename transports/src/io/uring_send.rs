//! Sends batched into one submission per driver loop pass: each writable
//! peering's vectored write becomes a `SENDMSG` request, and the whole
//! batch goes to the kernel with the pass's single `io_uring_enter`.
//!
//! Every send carries `MSG_DONTWAIT`, so the kernel completes it while
//! submitting — with the bytes taken or `EAGAIN` — instead of parking it to
//! retry later. The bytes are the worker's own output queue, not a copy:
//! the driver takes in every send's outcome before the worker runs again,
//! and waits for any the kernel has not completed yet, so a queue never
//! changes under a send. One send per peering is in flight at a time.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

/// The kind bits of a send's user data.
pub(crate) const SEND_KIND: u64 = 2 << 60;

/// The most parts of one vectored write (the WebSocket header and the
/// worker's three).
const MAX_PARTS: usize = 4;

/// One send's message header and parts, at a fixed address while the
/// kernel may read them.
struct Message {
    header: libc::msghdr,
    parts: [libc::iovec; MAX_PARTS],
}

/// The sends of one pass.
#[derive(Default)]
pub(crate) struct Sends {
    /// Messages of the sends in flight, then spare ones.
    messages: Vec<Box<Message>>,
    in_flight: usize,
}

impl Sends {
    /// Queues a send of `parts` on `fd` for the peering `token`.
    pub(crate) fn queue(
        &mut self,
        fd: RawFd,
        token: u64,
        parts: &[IoSlice<'_>],
        queue: &mut Vec<squeue::Entry>,
    ) {
        if self.messages.len() == self.in_flight {
            self.messages.push(Box::new(Message {
                // SAFETY: an all-zero msghdr and iovecs are valid (null
                // pointers, zero lengths); every field used is set below.
                #[allow(unsafe_code)]
                header: unsafe { std::mem::zeroed() },
                parts: [libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; MAX_PARTS],
            }));
        }
        let message = &mut self.messages[self.in_flight];
        let mut count = 0;
        for part in parts.iter().filter(|p| !p.is_empty()).take(MAX_PARTS) {
            message.parts[count] = libc::iovec {
                iov_base: part.as_ptr() as *mut libc::c_void,
                iov_len: part.len(),
            };
            count += 1;
        }
        message.header.msg_iov = message.parts.as_mut_ptr();
        message.header.msg_iovlen = count;
        self.in_flight += 1;
        queue.push(
            opcode::SendMsg::new(types::Fd(fd), &message.header)
                .flags((libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as u32)
                .build()
                .user_data(SEND_KIND | token),
        );
    }

    /// Notes one send's completion; returns its outcome.
    pub(crate) fn complete(&mut self, result: i32) -> io::Result<usize> {
        self.in_flight = self.in_flight.saturating_sub(1);
        match usize::try_from(result) {
            Ok(n) => Ok(n),
            Err(_) => Err(io::Error::from_raw_os_error(-result)),
        }
    }

    /// Sends queued or submitted whose completion has not been taken in.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }
}
