//! Received protocol frames waiting for the router, one queue per
//! peering, served round robin: a peering that floods the control plane
//! waits behind its own frames, not in front of everyone else's.
//!
//! What bounds the queues is the forwarding plane: each frame stays
//! charged to its peering until the control thread drops it, and a
//! peering at its byte bound is not read until its charge goes down.

use std::collections::{HashMap, VecDeque};

use pinecone_engine::control::Port;

/// Per-peering queues of protocol frames (or anything else), served one
/// per peering per turn.
#[derive(Debug)]
pub(crate) struct FairQueue<T> {
    queues: HashMap<Port, VecDeque<T>>,
    /// Peerings with frames waiting, in the order of their next turn.
    turns: VecDeque<Port>,
    len: usize,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        FairQueue {
            queues: HashMap::new(),
            turns: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> FairQueue<T> {
    /// Queues `frame`, received on `port`, behind the others from there.
    pub(crate) fn push(&mut self, port: Port, frame: T) {
        let queue = self.queues.entry(port).or_default();
        if queue.is_empty() {
            self.turns.push_back(port);
        }
        queue.push_back(frame);
        self.len += 1;
    }

    /// The next frame: the oldest of the peering whose turn it is.
    pub(crate) fn pop(&mut self) -> Option<(Port, T)> {
        while let Some(port) = self.turns.pop_front() {
            let Some(queue) = self.queues.get_mut(&port) else {
                continue;
            };
            let Some(frame) = queue.pop_front() else {
                self.queues.remove(&port);
                continue;
            };
            if queue.is_empty() {
                self.queues.remove(&port);
            } else {
                self.turns.push_back(port);
            }
            self.len -= 1;
            return Some((port, frame));
        }
        None
    }

    /// Drops every frame waiting from `port` (its peering is gone).
    pub(crate) fn forget(&mut self, port: Port) {
        if let Some(queue) = self.queues.remove(&port) {
            self.len -= queue.len();
        }
    }

    /// How many frames are waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no frame is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut FairQueue<u8>) -> Vec<(Port, u8)> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn a_flooder_waits_behind_its_own_frames() {
        let mut queue = FairQueue::default();
        for tag in 0..5 {
            queue.push(1, tag);
        }
        queue.push(2, 100);
        queue.push(3, 200);
        queue.push(2, 101);
        assert_eq!(queue.len, 8);
        assert_eq!(
            drain(&mut queue),
            vec![
                (1, 0),
                (2, 100),
                (3, 200),
                (1, 1),
                (2, 101),
                (1, 2),
                (1, 3),
                (1, 4)
            ]
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn forgetting_a_peering_drops_its_frames() {
        let mut queue = FairQueue::default();
        queue.push(1, 0);
        queue.push(2, 0);
        queue.push(1, 1);
        queue.forget(1);
        assert_eq!(queue.len, 1);
        assert_eq!(drain(&mut queue), vec![(2, 0)]);
        queue.push(1, 9);
        assert_eq!(drain(&mut queue), vec![(1, 9)], "a new peering on the port");
    }
}
