//! The routing table: an immutable snapshot that answers every decision a
//! transit frame needs, without the state machine.
//!
//! A [`RoutingTable`] is `Send + Sync` and self-contained; the
//! [`Router`](super::Router) publishes it as an `Arc` (see
//! [`Router::take_table_update`](super::Router::take_table_update)) and
//! forwards its own frames through the same lookups. It is two shared parts:
//!
//! * the tree part, rebuilt when an announcement, the parent or the peer set
//!   changes: our key, root and coordinates, the SNEK candidates learned from
//!   announcements (every signer of a peer's announcement, sorted by key,
//!   each with its best peering precomputed) and a trie of the peers'
//!   coordinates for greedy tree routing;
//! * the path part: SNEK path entries sorted by key, updated in place (copied
//!   only when a published snapshot still shares it).
//!
//! A SNEK lookup is two binary searches and at most a few steps from each,
//! O(log n) in the number of known keys; a tree lookup is O(|coordinates|).

mod links;
#[cfg(test)]
mod oracle_tests;
mod paths;
#[cfg(test)]
mod snek_tests;
mod traffic;
mod tree_index;

use std::sync::Arc;

pub use paths::PathEntry;
pub use traffic::{DropReason, Forwarding, TrafficAction};

pub(crate) use links::LinkInfo;
pub(crate) use paths::PathIndex;

use super::announcement::Root;
use super::peers::Port;
use super::time::Millis;
use crate::wire::{tree_distance, Coords, PublicKey, Watermark};
use links::Candidates;
use tree_index::TreeIndex;

/// Where a frame goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NextHop {
    /// This node: deliver it (traffic for our key) or stop (nowhere closer).
    Local,
    /// Out of this port.
    Port(Port),
}

/// The result of a SNEK lookup: the next hop and the watermark the frame
/// carries from here on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnekRoute {
    /// Where to send it.
    pub next: NextHop,
    /// The frame's new watermark.
    pub watermark: Watermark,
}

/// The part of the table derived from peers' announcements.
#[derive(Debug, Clone)]
pub(crate) struct TreeRoutes {
    own: PublicKey,
    root: Root,
    coords: Coords,
    /// The port toward the root key, when we have a parent.
    root_link: Option<Port>,
    candidates: Candidates,
    tree: TreeIndex,
}

impl TreeRoutes {
    /// Derives the tree part from the links that have announced.
    ///
    /// `parent` is our parent's port (`None`: we are a root); `root` and
    /// `coords` are what our root announcement says.
    pub(crate) fn build(
        own: PublicKey,
        root: Root,
        coords: Coords,
        parent: Option<Port>,
        links: &[LinkInfo<'_>],
    ) -> TreeRoutes {
        let candidates = Candidates::build(&own, &root, parent, links);
        let root_link = parent.map(|p| candidates.get(&root.key).unwrap_or(p));
        let mut tree = TreeIndex::default();
        for link in links.iter().filter(|l| l.root == root) {
            tree.insert(link.port, link.peer_coords, link.peer_type, link.order);
        }
        TreeRoutes {
            own,
            root,
            coords,
            root_link,
            candidates,
            tree,
        }
    }
}

/// An immutable snapshot of every routing decision this node makes.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    tree: Arc<TreeRoutes>,
    paths: Arc<PathIndex>,
    hop_limiting: bool,
}

impl RoutingTable {
    /// The table of a node with no peers.
    pub(crate) fn new(own: PublicKey, root_seq: u64, hop_limiting: bool) -> RoutingTable {
        let root = Root {
            key: own,
            seq: root_seq,
        };
        RoutingTable {
            tree: Arc::new(TreeRoutes::build(own, root, Coords::ROOT, None, &[])),
            paths: Arc::new(PathIndex::default()),
            hop_limiting,
        }
    }

    pub(crate) fn set_tree(&mut self, tree: TreeRoutes) {
        self.tree = Arc::new(tree);
    }

    pub(crate) fn set_hop_limiting(&mut self, enabled: bool) {
        self.hop_limiting = enabled;
    }

    /// The path entries, for changing; copied first if a published snapshot
    /// shares them.
    pub(crate) fn paths_mut(&mut self) -> &mut PathIndex {
        Arc::make_mut(&mut self.paths)
    }

    pub(crate) fn paths(&self) -> &PathIndex {
        &self.paths
    }

    /// This node's key.
    pub fn public_key(&self) -> PublicKey {
        self.tree.own
    }

    /// The root key and sequence this node follows.
    pub fn root(&self) -> (PublicKey, u64) {
        (self.tree.root.key, self.tree.root.seq)
    }

    /// This node's tree coordinates.
    pub fn coords(&self) -> &Coords {
        &self.tree.coords
    }

    /// Whether forwarded traffic has its hop limit decremented.
    pub fn hop_limiting(&self) -> bool {
        self.hop_limiting
    }

    /// The path entry for `key`, expired or not.
    pub fn path(&self, key: &PublicKey) -> Option<&PathEntry> {
        self.paths.get(key)
    }

    /// Number of SNEK candidate keys learned from announcements.
    pub fn candidate_count(&self) -> usize {
        self.tree.candidates.len()
    }

    /// Number of SNEK path entries.
    pub fn path_count(&self) -> usize {
        self.paths.len()
    }

    /// The tree next hop toward coordinates `dest` for a frame that came
    /// from port `from`: [`NextHop::Local`] when `dest` are our coordinates,
    /// the peer strictly closer to `dest` than we are (following our exact
    /// root, never `from`), or `None` when no peer is closer.
    pub fn tree_next_hop<I>(&self, dest: I, from: Port) -> Option<NextHop>
    where
        I: Iterator<Item = u64> + Clone,
    {
        let ours = tree_distance(self.tree.coords.ports().iter().copied(), dest.clone());
        if ours == 0 {
            return Some(NextHop::Local);
        }
        let hop = self.tree.tree.closest(dest, from)?;
        (hop.distance < ours).then_some(NextHop::Port(hop.port))
    }

    /// The SNEK next hop for traffic to `dest` carrying `watermark`.
    pub fn snek_next_hop(&self, dest: &PublicKey, watermark: Watermark, now: Millis) -> SnekRoute {
        self.snek(dest, watermark, false, now)
    }

    /// The SNEK next hop for a bootstrap from `dest` carrying `watermark`;
    /// [`NextHop::Local`] means it ends here.
    pub fn bootstrap_next_hop(
        &self,
        dest: &PublicKey,
        watermark: Watermark,
        now: Millis,
    ) -> SnekRoute {
        self.snek(dest, watermark, true, now)
    }

    /// SNEK routing: toward the lowest known key above `dest` (or `dest`
    /// itself for traffic), starting from our own key, or from the root via
    /// our parent when `dest` lies between us and the root (always, for our
    /// own bootstrap).
    fn snek(
        &self,
        dest: &PublicKey,
        watermark: Watermark,
        bootstrap: bool,
        now: Millis,
    ) -> SnekRoute {
        let routes = &*self.tree;
        let exact = !bootstrap;
        if exact && *dest == routes.own {
            return SnekRoute {
                next: NextHop::Local,
                watermark,
            };
        }
        let mut best = (routes.own, 0u64, NextHop::Local);
        if let Some(link) = routes.root_link {
            let toward_root = routes.own < *dest && *dest < routes.root.key;
            if toward_root || (bootstrap && *dest == routes.own) {
                best = (routes.root.key, 0, NextHop::Port(link));
            }
        }
        match routes.candidates.get(dest) {
            Some(port) if exact => best = (*dest, 0, NextHop::Port(port)),
            _ => {
                if let Some((key, port)) = routes.candidates.first_above(dest) {
                    if key < best.0 {
                        best = (key, 0, NextHop::Port(port));
                    }
                }
            }
        }
        if !(exact && best.0 == *dest) {
            for entry in self.paths.at_or_above(dest) {
                if entry.key == *dest {
                    if !exact {
                        continue;
                    }
                } else if entry.key >= best.0 {
                    break;
                }
                let usable = if exact {
                    entry.serves(watermark, now)
                } else {
                    entry.guides_bootstraps(watermark, now)
                };
                if !usable {
                    continue;
                }
                // Every later entry has a higher key, so once one is worse
                // than the frame's watermark all the rest are too.
                if entry.watermark().is_worse_than(&watermark) {
                    break;
                }
                best = (entry.key, entry.seq, NextHop::Port(entry.source));
                break;
            }
        }
        SnekRoute {
            next: best.2,
            watermark: Watermark {
                key: best.0,
                seq: best.1,
            },
        }
    }
}
