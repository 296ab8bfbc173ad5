//! The spanning-tree decision table: what to do with a stored announcement.

use std::cmp::Ordering;

/// The reaction to an announcement received from a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnnouncementAction {
    /// Nothing beyond storing it.
    Drop,
    /// Our parent moved on (stronger root or newer sequence): re-announce
    /// to all peers.
    AcceptUpdate,
    /// Another peer offers a stronger root: it becomes our parent.
    AcceptNewParent,
    /// Same root from another peer: run parent selection.
    SelectNewParent,
    /// Bad news from our parent: become root, wait 1 s, then select.
    SelectNewParentWithWait,
    /// The peer follows a weaker root: tell it about ours.
    InformPeerOfStrongerRoot,
}

/// The facts about a new announcement that the decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnnouncementFacts {
    /// It came from our current parent.
    pub(crate) from_parent: bool,
    /// Our own key signed it (the sender is our descendant).
    pub(crate) contains_us: bool,
    /// Its root key compared with the root we follow.
    pub(crate) root_delta: Ordering,
    /// Its root sequence.
    pub(crate) seq: u64,
    /// The root sequence we follow.
    pub(crate) our_seq: u64,
}

/// The decision table.
///
/// From the parent: a loop, a weaker root, or the same root and sequence
/// (the parent re-signing after it re-parented) is bad news; a stronger root
/// or a newer sequence is accepted. From another peer: a loop is ignored, a
/// stronger root makes it our parent, a weaker root is answered with ours,
/// and the same root triggers parent selection.
pub(crate) fn decide(facts: AnnouncementFacts) -> AnnouncementAction {
    use AnnouncementAction::*;
    let AnnouncementFacts {
        from_parent,
        contains_us,
        root_delta,
        seq,
        our_seq,
    } = facts;
    if from_parent {
        match root_delta {
            _ if contains_us => SelectNewParentWithWait,
            Ordering::Less => SelectNewParentWithWait,
            Ordering::Equal if seq == our_seq => SelectNewParentWithWait,
            Ordering::Greater => AcceptUpdate,
            Ordering::Equal if seq > our_seq => AcceptUpdate,
            Ordering::Equal => Drop,
        }
    } else {
        match root_delta {
            _ if contains_us => Drop,
            Ordering::Greater => AcceptNewParent,
            Ordering::Less => InformPeerOfStrongerRoot,
            Ordering::Equal => SelectNewParent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AnnouncementAction::*;
    use super::*;

    fn facts(
        from_parent: bool,
        contains_us: bool,
        root_delta: Ordering,
        seq: u64,
    ) -> AnnouncementFacts {
        AnnouncementFacts {
            from_parent,
            contains_us,
            root_delta,
            seq,
            our_seq: 5,
        }
    }

    /// Every row of the table, as (from parent, contains us, root delta,
    /// sequence against our 5, expected action).
    #[test]
    fn every_row() {
        use Ordering::*;
        let rows = [
            // From the parent.
            (true, true, Greater, 6, SelectNewParentWithWait),
            (true, true, Equal, 5, SelectNewParentWithWait),
            (true, false, Less, 9, SelectNewParentWithWait),
            (true, false, Equal, 5, SelectNewParentWithWait),
            (true, false, Greater, 1, AcceptUpdate),
            (true, false, Equal, 6, AcceptUpdate),
            (true, false, Equal, 4, Drop),
            // From another peer.
            (false, true, Greater, 9, Drop),
            (false, true, Equal, 5, Drop),
            (false, false, Greater, 0, AcceptNewParent),
            (false, false, Less, 9, InformPeerOfStrongerRoot),
            (false, false, Equal, 4, SelectNewParent),
            (false, false, Equal, 5, SelectNewParent),
            (false, false, Equal, 6, SelectNewParent),
        ];
        for (from_parent, contains_us, delta, seq, expected) in rows {
            assert_eq!(
                decide(facts(from_parent, contains_us, delta, seq)),
                expected,
                "parent={from_parent} loop={contains_us} delta={delta:?} seq={seq}"
            );
        }
    }
}
