//! One peering as a driver holds it: its stream, its worker slot and what
//! the edge-triggered poller last said about it.

use std::io::{self, Read};

use pinecone_engine::control::Millis;
use pinecone_engine::forward::{SlotId, Worker};

use super::command::{CloseReason, PeeringId};
use super::sendmsg::send_vectored;
use crate::peering::PeerStream;

/// How many reads one peering gets per round before the others' turn.
const READS_PER_ROUND: usize = 4;

/// A peering attached to a driver's worker.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: PeeringId,
    pub(crate) slot: SlotId,
    pub(crate) stream: PeerStream,
    /// The socket may have bytes to read (not yet read to `WouldBlock`).
    pub(crate) readable: bool,
    /// The socket may take more bytes (no `WouldBlock` since it was last
    /// reported writable).
    pub(crate) writable: bool,
    /// The worker has output waiting for this peering.
    pub(crate) pending_output: bool,
}

impl Connection {
    /// A connection that is assumed readable and writable until the socket
    /// says otherwise.
    pub(crate) fn new(id: PeeringId, slot: SlotId, stream: PeerStream) -> Connection {
        Connection {
            id,
            slot,
            stream,
            readable: true,
            writable: true,
            pending_output: false,
        }
    }

    /// Whether a read would make progress now.
    pub(crate) fn should_read(&self, worker: &Worker) -> bool {
        self.readable && worker.wants_read(self.slot)
    }

    /// Reads into the worker's input buffer until the socket is drained,
    /// the buffer is full or this peering had its share of the round.
    pub(crate) fn read_into(&mut self, worker: &mut Worker) -> Result<(), CloseReason> {
        for _ in 0..READS_PER_ROUND {
            let buffer = worker.read_buffer(self.slot);
            if buffer.is_empty() {
                return Ok(());
            }
            match (&self.stream).read(buffer) {
                Ok(0) => return Err(CloseReason::EndOfStream),
                Ok(n) => worker.filled(self.slot, n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(CloseReason::Io(error)),
            }
        }
        Ok(())
    }

    /// Writes the worker's output for this peering, one vectored write at a
    /// time, until it is all written or the socket is full.
    pub(crate) fn write_from(
        &mut self,
        worker: &mut Worker,
        now: Millis,
    ) -> Result<(), CloseReason> {
        while self.writable {
            let chunks = worker.output(self.slot);
            if chunks.is_empty() {
                self.pending_output = false;
                return Ok(());
            }
            match send_vectored(&self.stream, &chunks.io_slices()) {
                Ok(0) => return Err(CloseReason::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    if worker.written(self.slot, n, now) == 0 {
                        self.pending_output = false;
                        return Ok(());
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(error) => return Err(CloseReason::Io(error)),
            }
        }
        Ok(())
    }
}
