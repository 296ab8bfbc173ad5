//! Greedy tree routing without scanning every peer: a trie of the peers'
//! coordinates.
//!
//! The tree distance from a peer at coordinates `P` to a destination `D` is
//! `|P| + |D| − 2·cpl(P, D)`. For every prefix `D[..k]` the trie node holds
//! the two best peers below it, ranked by coordinate length. A peer below
//! `D[..k]` shares at least `k` ports with `D`, so `|P| − 2k` is an upper
//! bound of its `|P| − 2·cpl`, exact at `k = cpl`. Walking `D` down the trie
//! and taking the minimum over the visited nodes therefore finds the closest
//! peer in O(|D|), whatever the number of peers. Two per node are kept so
//! that the peer a frame came from can be skipped.

use std::collections::HashMap;

use crate::control::peers::{PeerType, Port};

/// One peer in the trie, ordered by preference at equal depth: shorter
/// coordinates, then the faster medium, then the earlier announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TreeLink {
    len: usize,
    peer_type: PeerType,
    order: u64,
    port: Port,
}

/// The best two peers below one prefix.
type BestTwo = [Option<TreeLink>; 2];

/// Peers indexed by their coordinates.
#[derive(Debug, Clone)]
pub(crate) struct TreeIndex {
    /// Node 0 is the empty prefix.
    nodes: Vec<BestTwo>,
    children: HashMap<(u32, u64), u32>,
}

impl Default for TreeIndex {
    fn default() -> Self {
        TreeIndex {
            nodes: vec![[None, None]],
            children: HashMap::new(),
        }
    }
}

/// The chosen tree next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreeHop {
    pub(crate) port: Port,
    /// The peer's tree distance to the destination.
    pub(crate) distance: usize,
}

impl TreeIndex {
    /// Adds the peer on `port` at `coords`.
    pub(crate) fn insert(&mut self, port: Port, coords: &[u64], peer_type: PeerType, order: u64) {
        let link = TreeLink {
            len: coords.len(),
            peer_type,
            order,
            port,
        };
        let mut node = 0u32;
        keep_best(&mut self.nodes[0], link);
        for &hop in coords {
            let next_id = self.nodes.len() as u32;
            let child = *self.children.entry((node, hop)).or_insert(next_id);
            if child == next_id {
                self.nodes.push([None, None]);
            }
            node = child;
            keep_best(&mut self.nodes[node as usize], link);
        }
    }

    /// The peer closest to `dest` in tree distance, other than `from`, with
    /// ties broken by medium then announcement order.
    pub(crate) fn closest<I>(&self, dest: I, from: Port) -> Option<TreeHop>
    where
        I: Iterator<Item = u64>,
    {
        let mut best: Option<(i64, TreeLink)> = None;
        let mut node = 0u32;
        let mut depth: i64 = 0;
        let mut dest_len: i64 = 0;
        let mut walking = true;
        self.consider(node, depth, from, &mut best);
        for hop in dest {
            dest_len += 1;
            if !walking {
                continue;
            }
            match self.children.get(&(node, hop)) {
                Some(&child) => {
                    node = child;
                    depth += 1;
                    self.consider(node, depth, from, &mut best);
                }
                None => walking = false,
            }
        }
        let (term, link) = best?;
        Some(TreeHop {
            port: link.port,
            distance: usize::try_from(term + dest_len).unwrap_or(usize::MAX),
        })
    }

    fn consider(&self, node: u32, depth: i64, from: Port, best: &mut Option<(i64, TreeLink)>) {
        let Some(pair) = self.nodes.get(node as usize) else {
            return;
        };
        let Some(link) = pair.iter().flatten().find(|l| l.port != from) else {
            return;
        };
        let term = link.len as i64 - 2 * depth;
        let better = match best {
            None => true,
            Some((best_term, best_link)) => {
                (term, link.peer_type, link.order, link.port)
                    < (
                        *best_term,
                        best_link.peer_type,
                        best_link.order,
                        best_link.port,
                    )
            }
        };
        if better {
            *best = Some((term, *link));
        }
    }
}

fn keep_best(pair: &mut BestTwo, link: TreeLink) {
    match pair {
        [None, _] => pair[0] = Some(link),
        [Some(first), second] => {
            if link < *first {
                *second = Some(*first);
                *first = link;
            } else if second.is_none_or(|s| link < s) {
                *second = Some(link);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_closest_peer_and_skips_the_sender() {
        let mut index = TreeIndex::default();
        index.insert(1, &[1], PeerType::Remote, 1); // parent
        index.insert(2, &[1, 2, 3], PeerType::Remote, 2); // child
        index.insert(3, &[1, 4], PeerType::Remote, 3); // cousin-ish
        let hop = index.closest([1, 2, 3, 9].into_iter(), 0).unwrap();
        assert_eq!(
            hop,
            TreeHop {
                port: 2,
                distance: 1
            }
        );
        // Without the child: the parent at distance 3 beats [1 4] at 4.
        let hop = index.closest([1, 2, 3, 9].into_iter(), 2).unwrap();
        assert_eq!(
            hop,
            TreeHop {
                port: 1,
                distance: 3
            }
        );
        let hop = index.closest([1, 4, 7].into_iter(), 0).unwrap();
        assert_eq!(
            hop,
            TreeHop {
                port: 3,
                distance: 1
            }
        );
    }

    #[test]
    fn ties_prefer_faster_medium_then_earlier_order() {
        let mut index = TreeIndex::default();
        index.insert(1, &[5], PeerType::Remote, 1);
        index.insert(2, &[5], PeerType::Multicast, 9);
        index.insert(3, &[5], PeerType::Multicast, 4);
        assert_eq!(
            index.closest([5, 1].into_iter(), 0).map(|h| h.port),
            Some(3)
        );
        assert_eq!(
            index.closest([5, 1].into_iter(), 3).map(|h| h.port),
            Some(2)
        );
    }

    #[test]
    fn empty_index_has_no_hop() {
        let index = TreeIndex::default();
        assert_eq!(index.closest([1, 2].into_iter(), 0), None);
    }
}
