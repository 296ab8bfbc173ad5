//! The handshakes still running on a node's behalf (of conduits and of
//! attached sockets), so that shutting the node down ends them at once
//! rather than at the handshake deadline.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rustix::net::{shutdown, Shutdown};

use crate::boundary::Failure;

/// Second descriptors for the sockets whose handshake is running.
#[derive(Debug, Default)]
pub(crate) struct PendingHandshakes {
    state: Mutex<Pending>,
}

/// The sockets, numbered, and whether they were all ended for good.
#[derive(Debug, Default)]
struct Pending {
    next_id: u64,
    sockets: HashMap<u64, OwnedFd>,
    ended: bool,
}

impl PendingHandshakes {
    fn state(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers a second descriptor for `socket`, whose handshake is about
    /// to run; returns its number. Fails once [`end_all`](Self::end_all)
    /// ran: the node is shutting down.
    pub(crate) fn add(&self, socket: impl AsFd) -> Result<u64, Failure> {
        let mut state = self.state();
        if state.ended {
            return Err(Failure("the node is shut down".to_owned()));
        }
        let duplicate = socket.as_fd().try_clone_to_owned()?;
        let id = state.next_id;
        state.next_id += 1;
        state.sockets.insert(id, duplicate);
        Ok(id)
    }

    /// Forgets the socket numbered `id`: its handshake is over.
    pub(crate) fn remove(&self, id: u64) {
        self.state().sockets.remove(&id);
    }

    /// Ends every handshake still running, by shutting its socket down,
    /// and refuses new ones.
    pub(crate) fn end_all(&self) {
        let mut state = self.state();
        state.ended = true;
        for (_, socket) in state.sockets.drain() {
            // Nothing to do if it fails: the socket is going anyway.
            let _ = shutdown(&socket, Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    #[test]
    fn ending_wakes_a_waiting_reader_and_refuses_new_handshakes() {
        let pending = PendingHandshakes::default();
        let (waiting, _remote) = UnixStream::pair().unwrap();
        let (done, _other_remote) = UnixStream::pair().unwrap();
        pending.add(&waiting).unwrap();
        let finished = pending.add(&done).unwrap();
        pending.remove(finished);
        waiting
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let reader = std::thread::spawn(move || (&waiting).read(&mut [0u8; 8]).unwrap());
        pending.end_all();
        assert_eq!(reader.join().unwrap(), 0, "the reader sees the end");
        let (late, _late_remote) = UnixStream::pair().unwrap();
        assert!(pending.add(&late).is_err());
        // A socket whose handshake ended before is left alone.
        done.set_nonblocking(true).unwrap();
        let still_open = (&done).read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(still_open.kind(), std::io::ErrorKind::WouldBlock);
    }
}
