//! Datagrams that did not fit a receiver's buffer, kept for the next
//! receive.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pinecone_transports::Datagram;

/// Datagrams held back, oldest first.
#[derive(Debug, Default)]
pub(crate) struct HeldDatagrams {
    /// Whether `queue` may hold any: checked without the lock, so that the
    /// common case costs one atomic load.
    any: AtomicBool,
    queue: Mutex<VecDeque<Datagram>>,
}

impl HeldDatagrams {
    fn queue(&self) -> MutexGuard<'_, VecDeque<Datagram>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest datagram held, if any.
    pub(crate) fn take(&self) -> Option<Datagram> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut queue = self.queue();
        let datagram = queue.pop_front();
        self.any.store(!queue.is_empty(), Ordering::Release);
        datagram
    }

    /// Holds a datagram: before the others when it was just taken from
    /// here (`oldest`), after them when it is new.
    pub(crate) fn hold(&self, datagram: Datagram, oldest: bool) {
        let mut queue = self.queue();
        if oldest {
            queue.push_front(datagram);
        } else {
            queue.push_back(datagram);
        }
        self.any.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinecone_engine::wire::PublicKey;

    fn datagram(byte: u8) -> Datagram {
        Datagram {
            source: PublicKey([byte; 32]),
            payload: vec![byte],
        }
    }

    #[test]
    fn keeps_the_order_of_arrival() {
        let held = HeldDatagrams::default();
        assert_eq!(held.take(), None);
        held.hold(datagram(1), false);
        held.hold(datagram(2), false);
        let first = held.take().unwrap();
        assert_eq!(first, datagram(1));
        held.hold(first, true);
        assert_eq!(held.take(), Some(datagram(1)));
        assert_eq!(held.take(), Some(datagram(2)));
        assert_eq!(held.take(), None);
    }
}
