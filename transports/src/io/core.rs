//! What every I/O driver does each round, whatever tells it which sockets
//! are ready: attach and detach peerings, read, route, close what broke,
//! write.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use crossbeam_channel::Receiver;
use pinecone_engine::control::Millis;
use pinecone_engine::forward::{PortLease, SlotId, Worker};
use tracing::debug;

use super::clock;
use super::command::{CloseReason, DriverCommand, DriverReport, PeeringId};
use super::connection::Connection;
use super::handle::DriverHooks;
use crate::peering::PeerStream;

/// How a driver learns that sockets are ready. Tokens name a peering's slot
/// and generation ([`token`]); a readiness source reports them back.
pub(crate) trait Readiness {
    /// Starts watching `fd` for reading and writing, edge-triggered.
    fn register(&mut self, fd: RawFd, token: u64) -> io::Result<()>;
    /// Stops watching `fd`.
    fn deregister(&mut self, fd: RawFd, token: u64);
}

/// The token of the peering in `slot`: its index plus one (zero is left
/// for wakeups) in the low half, its generation in the high half.
pub(crate) fn token(slot: SlotId) -> u64 {
    (u64::from(slot.generation) << 32) | (u64::from(slot.index) + 1)
}

/// Connections read in one round before the worker processes what they
/// brought, as the kernel's NAPI budgets a poll: the rest wait for the next
/// round, which follows at once.
const CONNECTIONS_READ_PER_ROUND: usize = 64;

/// The state a driver thread owns besides its readiness source.
///
/// A round touches only the connections that have something to do: those
/// listed to read (the poller said readable, or bytes are left from the
/// last round) and those listed to write (output waiting and the socket
/// writable). Idle peerings cost nothing per round, however many there are.
pub(crate) struct DriverCore {
    worker: Worker,
    /// By slot index.
    connections: Vec<Option<Connection>>,
    inbox: Receiver<DriverCommand>,
    hooks: DriverHooks,
    writable: Vec<SlotId>,
    ended: Vec<(usize, CloseReason)>,
    /// Connections that may have input.
    to_read: Vec<SlotId>,
    /// Connections with output waiting and a writable socket.
    to_write: Vec<SlotId>,
    /// Empty lists kept for the next round's reads, so that a busy round
    /// allocates nothing.
    spare_lists: [Vec<SlotId>; 2],
}

impl DriverCore {
    /// A driver core for `worker`, taking commands from `inbox`.
    pub(crate) fn new(
        worker: Worker,
        inbox: Receiver<DriverCommand>,
        hooks: DriverHooks,
    ) -> DriverCore {
        DriverCore {
            worker,
            connections: Vec::new(),
            inbox,
            hooks,
            writable: Vec::new(),
            ended: Vec::new(),
            to_read: Vec::new(),
            to_write: Vec::new(),
            spare_lists: Default::default(),
        }
    }

    /// Whether a read would make progress without waiting for readiness.
    pub(crate) fn busy(&self) -> bool {
        self.to_read.iter().any(|&slot| {
            self.connection(slot)
                .is_some_and(|c| c.should_read(&self.worker))
        })
    }

    /// Records what the readiness source said about `token`.
    pub(crate) fn mark_ready(&mut self, token: u64, readable: bool, writable: bool) {
        let Some(connection) = by_token(&mut self.connections, token) else {
            return;
        };
        connection.readable |= readable;
        connection.writable |= writable;
        let slot = connection.slot;
        if connection.readable && !connection.listed_to_read {
            connection.listed_to_read = true;
            self.to_read.push(slot);
        }
        if connection.writable && connection.pending_output && !connection.listed_to_write {
            connection.listed_to_write = true;
            self.to_write.push(slot);
        }
    }

    /// The socket of the peering `token` names, if it is still attached
    /// (for the io_uring driver's poll requests).
    #[cfg(feature = "io-uring")]
    pub(crate) fn fd_of(&mut self, token: u64) -> Option<RawFd> {
        by_token(&mut self.connections, token).map(|c| c.stream.as_raw_fd())
    }

    fn connection(&self, slot: SlotId) -> Option<&Connection> {
        self.connections
            .get(slot.index as usize)?
            .as_ref()
            .filter(|c| c.slot == slot)
    }

    fn connection_mut(&mut self, slot: SlotId) -> Option<&mut Connection> {
        attached(&mut self.connections, slot)
    }

    /// Carries out the control thread's commands.
    pub(crate) fn take_commands(&mut self, readiness: &mut impl Readiness) {
        while let Ok(command) = self.inbox.try_recv() {
            match command {
                DriverCommand::Attach { id, lease, stream } => {
                    self.attach(id, lease, stream, readiness)
                }
                DriverCommand::Detach(id) => {
                    let index = self
                        .connections
                        .iter()
                        .position(|c| c.as_ref().is_some_and(|c| c.id == id));
                    if let Some(index) = index {
                        self.close(index, None, readiness);
                    }
                }
            }
        }
    }

    fn attach(
        &mut self,
        id: PeeringId,
        lease: PortLease,
        stream: PeerStream,
        readiness: &mut impl Readiness,
    ) {
        if let Err(error) = stream.set_nonblocking(true) {
            self.report_closed(id, CloseReason::Io(error));
            return;
        }
        let Some(slot) = self.worker.attach(lease, clock::now()) else {
            // Closed by the control plane before it got here, which has
            // forgotten it: dropping the stream closes the connection.
            debug!(
                port = lease.port(),
                "a peering closed before it was attached is dropped"
            );
            return;
        };
        if let Err(error) = readiness.register(stream.as_raw_fd(), token(slot)) {
            self.worker.detach(slot);
            self.report_closed(id, CloseReason::Io(error));
            return;
        }
        let index = slot.index as usize;
        if self.connections.len() <= index {
            self.connections.resize_with(index + 1, || None);
        }
        let mut connection = Connection::new(id, slot, stream);
        connection.listed_to_read = true;
        self.to_read.push(slot);
        self.connections[index] = Some(connection);
        (self.hooks.report)(DriverReport::Attached(id));
    }

    fn report_closed(&self, id: PeeringId, reason: CloseReason) {
        (self.hooks.report)(DriverReport::Closed { id, reason });
    }

    /// Reads what is readable, routes it, closes what broke and writes
    /// what is waiting; then tells the control thread if the worker queued
    /// anything for it.
    pub(crate) fn round(&mut self, readiness: &mut impl Readiness) {
        let now = clock::now();
        self.read_listed();
        // Frames read before the end of a stream are still routed.
        self.worker.process(now);
        for (index, reason) in std::mem::take(&mut self.ended) {
            self.close(index, Some(reason), readiness);
        }
        for broken in self.worker.take_broken() {
            let index = broken.slot.index as usize;
            if self.slot_at(index) == Some(broken.slot) {
                self.close(index, Some(CloseReason::Broken(broken.error)), readiness);
            }
        }
        self.worker.take_writable(&mut self.writable);
        let mut writable = std::mem::take(&mut self.writable);
        for slot in writable.drain(..) {
            if let Some(connection) = self.connection_mut(slot) {
                connection.pending_output = true;
            }
            self.list_to_write(slot);
        }
        self.writable = writable;
        self.write_listed(now, readiness);
        if self.worker.take_queued_for_control() {
            (self.hooks.after_round)();
        }
    }

    /// Reads listed connections that the worker can take input from, at
    /// most [`CONNECTIONS_READ_PER_ROUND`] of them (each holds an input buffer until
    /// the worker processes what was read, so the budget also bounds the
    /// buffers a round takes); keeps listed those that may have more, after
    /// the ones not reached this round.
    fn read_listed(&mut self) {
        let mut listed = std::mem::take(&mut self.to_read);
        let [mut waiting, mut again] = std::mem::take(&mut self.spare_lists);
        let mut served = 0;
        for slot in listed.drain(..) {
            let index = slot.index as usize;
            let Some(connection) = attached(&mut self.connections, slot) else {
                continue;
            };
            if !connection.should_read(&self.worker) {
                connection.listed_to_read = connection.has_input();
                if connection.listed_to_read {
                    again.push(slot);
                }
                continue;
            }
            if served == CONNECTIONS_READ_PER_ROUND {
                waiting.push(slot);
                continue;
            }
            served += 1;
            if let Err(reason) = connection.read_into(&mut self.worker) {
                self.ended.push((index, reason));
                connection.listed_to_read = false;
                continue;
            }
            if connection.pending_output && connection.writable && !connection.listed_to_write {
                connection.listed_to_write = true;
                self.to_write.push(slot);
            }
            connection.listed_to_read = connection.has_input();
            if connection.listed_to_read {
                again.push(slot);
            }
        }
        waiting.append(&mut again);
        // Connections listed while reading (none today) come last.
        waiting.append(&mut self.to_read);
        self.to_read = waiting;
        self.spare_lists = [listed, again];
    }

    fn list_to_write(&mut self, slot: SlotId) {
        let Some(connection) = self.connection_mut(slot) else {
            return;
        };
        if connection.writable && !connection.listed_to_write {
            connection.listed_to_write = true;
            self.to_write.push(slot);
        }
    }

    /// Writes each listed connection until it has nothing left or its
    /// socket is full.
    fn write_listed(&mut self, now: Millis, readiness: &mut impl Readiness) {
        let listed = std::mem::take(&mut self.to_write);
        for slot in listed {
            let index = slot.index as usize;
            let Some(connection) = attached(&mut self.connections, slot) else {
                continue;
            };
            connection.listed_to_write = false;
            if !connection.pending_output || !connection.writable {
                continue;
            }
            if let Err(reason) = connection.write_from(&mut self.worker, now) {
                self.close(index, Some(reason), readiness);
            }
        }
    }

    fn slot_at(&self, index: usize) -> Option<SlotId> {
        Some(self.connections.get(index)?.as_ref()?.slot)
    }

    /// Closes the peering in slot `index`, reporting `reason` if the
    /// control thread did not ask for it.
    fn close(&mut self, index: usize, reason: Option<CloseReason>, readiness: &mut impl Readiness) {
        let Some(connection) = self.connections.get_mut(index).and_then(Option::take) else {
            return;
        };
        readiness.deregister(connection.stream.as_raw_fd(), token(connection.slot));
        connection.say_goodbye();
        let _ = connection.stream.shutdown(std::net::Shutdown::Both);
        self.worker.detach(connection.slot);
        if let Some(reason) = reason {
            self.report_closed(connection.id, reason);
        }
    }

    /// Closes every peering without reporting (the node is stopping).
    pub(crate) fn close_all(&mut self, readiness: &mut impl Readiness) {
        for index in 0..self.connections.len() {
            self.close(index, None, readiness);
        }
    }
}

/// The connection in `slot`, if it is still attached.
fn attached(connections: &mut [Option<Connection>], slot: SlotId) -> Option<&mut Connection> {
    connections
        .get_mut(slot.index as usize)?
        .as_mut()
        .filter(|c| c.slot == slot)
}

/// The connection `token` names, if it is still attached.
fn by_token(connections: &mut [Option<Connection>], token: u64) -> Option<&mut Connection> {
    let index = usize::try_from((token & 0xffff_ffff).checked_sub(1)?).ok()?;
    let generation = u32::try_from(token >> 32).ok()?;
    connections
        .get_mut(index)?
        .as_mut()
        .filter(|c| c.slot.generation == generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_index_and_generation_apart() {
        let slot = SlotId {
            index: 7,
            generation: 3,
        };
        assert_eq!(token(slot), (3 << 32) | 8);
        let first = SlotId {
            index: 0,
            generation: 0,
        };
        assert_ne!(token(first), 0, "zero is the wakeup token");
    }
}
