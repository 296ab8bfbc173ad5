//! The SNEK candidates learned from peers' announcements: every signer of a
//! peer's announcement (the peer itself and its ancestors), each with the one
//! peering that reaches it best, sorted by key.

use crate::control::announcement::Root;
use crate::control::peers::{PeerType, Port};
use crate::wire::PublicKey;

/// A peering that has announced, as the routing table sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkInfo<'a> {
    pub(crate) port: Port,
    /// The peer's key.
    pub(crate) key: PublicKey,
    pub(crate) peer_type: PeerType,
    /// Receive order of its last announcement; unique among links.
    pub(crate) order: u64,
    /// The root its last announcement follows.
    pub(crate) root: Root,
    /// The signers of its last announcement, root first, the peer last.
    pub(crate) signers: &'a [PublicKey],
    /// The peer's own coordinates.
    pub(crate) peer_coords: &'a [u64],
}

/// How a candidate key is reached through one peering; lower is better.
///
/// A key that is a direct peer is reached on a direct link (the reference
/// switches to the direct peering whenever the best key is a peer's), the
/// fastest medium first, then links whose announcement follows our root,
/// then the one announced earliest. Otherwise a key among our parent's
/// ancestors is reached via the parent (the reference considers the parent
/// first and keeps the first link offering a key). Otherwise, where the
/// reference's choice depends on map order, the link with the fewest tree
/// hops to the key wins, then the same medium and order preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reach {
    /// The key is this peer.
    Direct {
        peer_type: PeerType,
        other_root: bool,
        order: u64,
    },
    /// The key is an ancestor in our parent's announcement.
    Parent,
    /// The key is an ancestor of another peer, `hops` tree hops above it.
    Ancestor {
        hops: usize,
        peer_type: PeerType,
        other_root: bool,
        order: u64,
    },
}

impl Reach {
    /// How `link` reaches the signer at `index` of its announcement.
    pub(crate) fn of(
        link: &LinkInfo<'_>,
        index: usize,
        parent: Option<Port>,
        our_root: &Root,
    ) -> Self {
        let other_root = link.root != *our_root;
        if index + 1 == link.signers.len() {
            Reach::Direct {
                peer_type: link.peer_type,
                other_root,
                order: link.order,
            }
        } else if parent == Some(link.port) {
            Reach::Parent
        } else {
            Reach::Ancestor {
                hops: link.signers.len() - index,
                peer_type: link.peer_type,
                other_root,
                order: link.order,
            }
        }
    }
}

/// The candidate keys, sorted, each with its best port.
#[derive(Debug, Clone, Default)]
pub(crate) struct Candidates {
    entries: Vec<(PublicKey, Port)>,
}

impl Candidates {
    /// Collects the signers of every link's announcement except `own`.
    pub(crate) fn build(
        own: &PublicKey,
        our_root: &Root,
        parent: Option<Port>,
        links: &[LinkInfo<'_>],
    ) -> Candidates {
        let direct: std::collections::BTreeSet<PublicKey> = links.iter().map(|l| l.key).collect();
        let mut all: Vec<(PublicKey, Reach, Port)> = Vec::new();
        for link in links {
            for (index, signer) in link.signers.iter().enumerate() {
                let is_last = index + 1 == link.signers.len();
                if signer == own || (!is_last && direct.contains(signer)) {
                    continue;
                }
                all.push((*signer, Reach::of(link, index, parent, our_root), link.port));
            }
        }
        all.sort_unstable();
        all.dedup_by_key(|entry| entry.0);
        Candidates {
            entries: all.into_iter().map(|(key, _, port)| (key, port)).collect(),
        }
    }

    /// The port for `key`, if it is a candidate.
    pub(crate) fn get(&self, key: &PublicKey) -> Option<Port> {
        let index = self.entries.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        Some(self.entries[index].1)
    }

    /// The candidate with the lowest key strictly above `key`.
    pub(crate) fn first_above(&self, key: &PublicKey) -> Option<(PublicKey, Port)> {
        let index = self.entries.partition_point(|(k, _)| k <= key);
        self.entries.get(index).copied()
    }

    /// Number of candidate keys.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(byte: u8) -> PublicKey {
        PublicKey([byte; 32])
    }

    const ROOT: Root = Root {
        key: PublicKey([9; 32]),
        seq: 1,
    };

    fn link<'a>(
        port: Port,
        signers: &'a [PublicKey],
        peer_type: PeerType,
        order: u64,
    ) -> LinkInfo<'a> {
        LinkInfo {
            port,
            key: *signers.last().unwrap(),
            peer_type,
            order,
            root: ROOT,
            signers,
            peer_coords: &[],
        }
    }

    #[test]
    fn direct_link_beats_parent_and_fastest_direct_link_wins() {
        let via_parent = [k(9), k(5), k(3)];
        let slow = [k(9), k(5)];
        let fast = [k(9), k(5)];
        let links = [
            link(1, &via_parent, PeerType::Pipe, 1),
            link(2, &slow, PeerType::Remote, 2),
            link(3, &fast, PeerType::Multicast, 3),
        ];
        let c = Candidates::build(&k(1), &ROOT, Some(1), &links);
        assert_eq!(c.get(&k(5)), Some(3));
        assert_eq!(c.get(&k(3)), Some(1));
        // The root is not a direct peer: reached via the parent.
        assert_eq!(c.get(&k(9)), Some(1));
    }

    #[test]
    fn non_parent_ancestor_prefers_fewest_hops() {
        let far = [k(9), k(7), k(6), k(4)];
        let near = [k(9), k(7), k(2)];
        let links = [
            link(1, &far, PeerType::Pipe, 1),
            link(2, &near, PeerType::Remote, 2),
        ];
        let c = Candidates::build(&k(1), &ROOT, None, &links);
        assert_eq!(c.get(&k(7)), Some(2));
        assert_eq!(c.get(&k(6)), Some(1));
    }

    #[test]
    fn own_key_is_never_a_candidate_and_search_is_strict() {
        let child = [k(9), k(1), k(3)];
        let links = [link(1, &child, PeerType::Pipe, 1)];
        let c = Candidates::build(&k(1), &ROOT, None, &links);
        assert_eq!(c.get(&k(1)), None);
        assert_eq!(c.len(), 2);
        assert_eq!(c.first_above(&k(3)), Some((k(9), 1)));
        assert_eq!(c.first_above(&k(2)), Some((k(3), 1)));
        assert_eq!(c.first_above(&k(9)), None);
    }
}
