//! The routing table as the router owns it: the current snapshot, whether
//! its tree part needs rebuilding, and whether it changed since it was last
//! published.

use std::sync::Arc;

use super::table::{PathIndex, RoutingTable, TreeRoutes};
use crate::wire::PublicKey;

/// The router's handle on its routing table.
#[derive(Debug)]
pub(crate) struct TableCell {
    current: Arc<RoutingTable>,
    tree_dirty: bool,
    unpublished: bool,
}

impl TableCell {
    pub(crate) fn new(own: PublicKey, hop_limiting: bool) -> TableCell {
        TableCell {
            current: Arc::new(RoutingTable::new(own, 0, hop_limiting)),
            tree_dirty: true,
            unpublished: true,
        }
    }

    /// Notes that announcements, the parent or the peer set changed.
    pub(crate) fn mark_tree_dirty(&mut self) {
        self.tree_dirty = true;
        self.unpublished = true;
    }

    pub(crate) fn tree_is_dirty(&self) -> bool {
        self.tree_dirty
    }

    pub(crate) fn set_tree(&mut self, routes: TreeRoutes) {
        Arc::make_mut(&mut self.current).set_tree(routes);
        self.tree_dirty = false;
    }

    /// Turns hop limiting of forwarded traffic on or off in the table,
    /// which is then published again.
    pub(crate) fn set_hop_limiting(&mut self, enabled: bool) {
        if self.current.hop_limiting() != enabled {
            Arc::make_mut(&mut self.current).set_hop_limiting(enabled);
            self.unpublished = true;
        }
    }

    /// The path entries for changing, in place unless a published snapshot
    /// still shares them.
    pub(crate) fn paths_mut(&mut self) -> &mut PathIndex {
        self.unpublished = true;
        Arc::make_mut(&mut self.current).paths_mut()
    }

    pub(crate) fn paths(&self) -> &PathIndex {
        self.current.paths()
    }

    /// The current snapshot; its tree part is stale while
    /// [`tree_is_dirty`](Self::tree_is_dirty).
    pub(crate) fn current(&self) -> &Arc<RoutingTable> {
        &self.current
    }

    /// The snapshot, if it changed since the last call.
    pub(crate) fn take_update(&mut self) -> Option<Arc<RoutingTable>> {
        if !self.unpublished {
            return None;
        }
        self.unpublished = false;
        Some(Arc::clone(&self.current))
    }
}
