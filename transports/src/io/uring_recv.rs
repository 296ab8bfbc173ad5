//! Multishot receives into the driver's shared buffer ring: one armed
//! receive per peering, the bytes each completion names held until the
//! worker takes them.
//!
//! A provided buffer is only held within one driver round. Bytes the
//! worker cannot take by the end of the round (its input is full or
//! blocked) are copied to a spill of that peering's own and the buffer goes
//! back to the ring, so one slow peering never holds the ring; its receive
//! is cancelled at the same time, so that the rest of its bytes wait in the
//! kernel (and TCP's window pushes back on the sender) until the spill is
//! taken and the worker wants more. A receive the kernel ends — the ring
//! was empty (`ENOBUFS`) or it stopped the multishot — is armed again the
//! same way. Frames that straddle buffers need nothing special: the bytes
//! go into the worker's input buffer in order, whatever their boundaries.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;

use io_uring::{cqueue, opcode, squeue, types};

use super::buf_ring::BufRing;
use super::command::CloseReason;

/// The buffer group of a driver's ring.
pub(crate) const BUFFER_GROUP: u16 = 0;

const ENOBUFS: i32 = 105;
const ECANCELED: i32 = 125;

/// Where a peering's receive stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Armed {
    /// A multishot receive is armed.
    Yes,
    /// Its cancellation was asked for; the last completion is to come.
    Cancelling,
    /// None is armed (paused, or ended by the kernel).
    No,
}

/// The received bytes of one peering not yet taken by the worker.
#[derive(Debug)]
struct Inbox {
    token: u64,
    fd: RawFd,
    armed: Armed,
    /// Bytes copied out of buffers the worker could not take in time.
    spill: VecDeque<u8>,
    /// Buffers the kernel filled: id, and the part not yet taken.
    held: VecDeque<(u16, usize, usize)>,
    /// How the stream ended, once every byte before it is taken.
    end: Option<End>,
}

#[derive(Debug)]
enum End {
    Eof,
    Error(i32),
}

/// Every peering's receive state, by slot index.
#[derive(Default)]
pub(crate) struct Inboxes {
    inboxes: Vec<Option<Inbox>>,
    /// Slot indices whose inbox holds ring buffers this round.
    holding: Vec<usize>,
    /// Slot indices with no receive armed and no end.
    paused: Vec<usize>,
    /// Receives still armed on peerings that are gone, by user data.
    orphans: Vec<u64>,
}

/// What a receive completion means for the driver.
pub(crate) enum Arrival {
    /// The peering has input (bytes, its end or an error).
    Input(u64),
    /// Nothing to report.
    Nothing,
}

impl Inboxes {
    /// Arms a multishot receive for the peering `token` on `fd`.
    pub(crate) fn attach(&mut self, fd: RawFd, token: u64, queue: &mut Vec<squeue::Entry>) {
        let Some(index) = slot_index(token) else {
            return;
        };
        if self.inboxes.len() <= index {
            self.inboxes.resize_with(index + 1, || None);
        }
        self.inboxes[index] = Some(Inbox {
            token,
            fd,
            armed: Armed::Yes,
            spill: VecDeque::new(),
            held: VecDeque::new(),
            end: None,
        });
        queue.push(receive(fd, token));
    }

    /// Forgets the peering `token`: its buffers go back to the ring and its
    /// receive is cancelled (the completions still to come are recognised
    /// as orphans).
    pub(crate) fn detach(&mut self, token: u64, ring: &mut BufRing, queue: &mut Vec<squeue::Entry>) {
        let Some(inbox) = self.inbox_mut(token).and_then(Option::take) else {
            return;
        };
        for (id, _, _) in inbox.held {
            ring.recycle(id);
        }
        if inbox.armed != Armed::No {
            if inbox.armed == Armed::Yes {
                queue.push(cancel(token));
            }
            self.orphans.push(receive_data(token));
        }
    }

    /// Receives still armed (live or being cancelled), orphans included.
    pub(crate) fn in_flight(&self) -> usize {
        let live = self.inboxes.iter().flatten();
        live.filter(|i| i.armed != Armed::No).count() + self.orphans.len()
    }

    /// Takes in one receive completion.
    pub(crate) fn complete(&mut self, data: u64, result: i32, flags: u32, ring: &mut BufRing) -> Arrival {
        let buffer = cqueue::buffer_select(flags);
        if buffer.is_some() {
            ring.taken();
        }
        let more = cqueue::more(flags);
        let token = token_of(data);
        let Some(index) = slot_index(token) else {
            return Arrival::Nothing;
        };
        let live = self
            .inboxes
            .get_mut(index)
            .and_then(Option::as_mut)
            .filter(|i| i.token == token);
        let Some(inbox) = live else {
            // A peering already gone: its buffer goes straight back.
            if let Some(id) = buffer {
                ring.recycle(id);
            }
            if !more {
                self.orphans.retain(|&o| o != data);
            }
            return Arrival::Nothing;
        };
        let mut arrival = Arrival::Nothing;
        match (result, buffer) {
            (n, Some(id)) if n > 0 => {
                if inbox.held.is_empty() {
                    self.holding.push(index);
                }
                inbox.held.push_back((id, 0, n as usize));
                arrival = Arrival::Input(token);
            }
            (0, _) => {
                inbox.end.get_or_insert(End::Eof);
                arrival = Arrival::Input(token);
            }
            (error, _) if error == -ENOBUFS || error == -ECANCELED => {
                if let Some(id) = buffer {
                    ring.recycle(id);
                }
            }
            (error, _) => {
                if let Some(id) = buffer {
                    ring.recycle(id);
                }
                inbox.end.get_or_insert(End::Error(-error));
                arrival = Arrival::Input(token);
            }
        }
        if !more {
            inbox.armed = Armed::No;
            if inbox.end.is_none() {
                self.paused.push(index);
            }
        }
        arrival
    }

    /// Copies what the peering `token` received into `buffer`: `Some(n)`
    /// bytes, `Some(0)` at its end once every byte is taken, `None` when
    /// nothing waits.
    pub(crate) fn read(
        &mut self,
        token: u64,
        buffer: &mut [u8],
        ring: &mut BufRing,
    ) -> Result<Option<usize>, CloseReason> {
        let Some(inbox) = self.inbox_mut(token).and_then(Option::as_mut) else {
            return Ok(None);
        };
        let mut n = 0;
        while n < buffer.len() && !inbox.spill.is_empty() {
            let (front, back) = inbox.spill.as_slices();
            let part = if front.is_empty() { back } else { front };
            let take = part.len().min(buffer.len() - n);
            buffer[n..n + take].copy_from_slice(&part[..take]);
            inbox.spill.drain(..take);
            n += take;
        }
        while n < buffer.len() {
            let Some((id, start, end)) = inbox.held.front_mut() else {
                break;
            };
            let bytes = ring.bytes(*id, *end);
            let take = (*end - *start).min(buffer.len() - n);
            buffer[n..n + take].copy_from_slice(&bytes[*start..*start + take]);
            *start += take;
            n += take;
            if *start == *end {
                ring.recycle(*id);
                inbox.held.pop_front();
            }
        }
        if n > 0 {
            return Ok(Some(n));
        }
        match &inbox.end {
            None => Ok(None),
            Some(End::Eof) => Ok(Some(0)),
            Some(End::Error(errno)) => Err(CloseReason::Io(io::Error::from_raw_os_error(*errno))),
        }
    }

    /// Ends a round: bytes the worker did not take are spilled and their
    /// buffers recycled, pausing those peerings' receives; paused receives
    /// are armed again where the spill is gone, the worker wants input
    /// (`wants`) and the ring has a buffer.
    pub(crate) fn settle(
        &mut self,
        ring: &mut BufRing,
        wants: impl Fn(u64) -> bool,
        queue: &mut Vec<squeue::Entry>,
    ) {
        for index in std::mem::take(&mut self.holding) {
            let Some(inbox) = self.inboxes.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            for (id, start, end) in inbox.held.drain(..) {
                inbox.spill.extend(&ring.bytes(id, end)[start..]);
                ring.recycle(id);
            }
            if !inbox.spill.is_empty() && inbox.armed == Armed::Yes {
                inbox.armed = Armed::Cancelling;
                queue.push(cancel(inbox.token));
            }
        }
        let mut paused = std::mem::take(&mut self.paused);
        paused.retain(|&index| {
            let Some(inbox) = self.inboxes.get_mut(index).and_then(Option::as_mut) else {
                return false;
            };
            if inbox.armed != Armed::No || inbox.end.is_some() {
                return false;
            }
            if !inbox.spill.is_empty() || ring.available() == 0 || !wants(inbox.token) {
                return true;
            }
            inbox.armed = Armed::Yes;
            queue.push(receive(inbox.fd, inbox.token));
            false
        });
        paused.append(&mut self.paused);
        paused.sort_unstable();
        paused.dedup();
        self.paused = paused;
    }

    fn inbox_mut(&mut self, token: u64) -> Option<&mut Option<Inbox>> {
        let slot = self.inboxes.get_mut(slot_index(token)?)?;
        if slot.as_ref().is_some_and(|i| i.token == token) {
            Some(slot)
        } else {
            None
        }
    }
}

/// The kind bits of a receive's user data.
pub(crate) const RECEIVE_KIND: u64 = 1 << 60;
/// The kind bits of a cancellation's user data (its completion is ignored).
pub(crate) const CANCEL_KIND: u64 = 0xf << 60;
/// The bits of user data that tell the kind of request.
pub(crate) const KIND_MASK: u64 = 0xf << 60;

fn receive_data(token: u64) -> u64 {
    token | RECEIVE_KIND
}

fn token_of(data: u64) -> u64 {
    data & !KIND_MASK
}

fn slot_index(token: u64) -> Option<usize> {
    usize::try_from((token & 0xffff_ffff).checked_sub(1)?).ok()
}

fn receive(fd: RawFd, token: u64) -> squeue::Entry {
    opcode::RecvMulti::new(types::Fd(fd), BUFFER_GROUP)
        .build()
        .user_data(receive_data(token))
}

fn cancel(token: u64) -> squeue::Entry {
    opcode::AsyncCancel::new(receive_data(token))
        .build()
        .user_data(CANCEL_KIND | token)
}
