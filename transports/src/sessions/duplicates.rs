//! Which session stays when a second one with the same key and protocol
//! is established.
//!
//! One QUIC connection per (protocol, remote key) carries every stream
//! between two nodes. A second one appears when the other node lost the
//! first (it restarted, or its side timed out sooner) or when both nodes
//! dialled each other at the same moment.
//!
//! * The other node dialled again while a session it dialled earlier is
//!   up: it lost that one, so the new one replaces it (the old one is
//!   closed with code 0, "connection replaced", as by the reference).
//! * The other node dialled while this node's own dial to it is still
//!   handshaking or was established less than [`SIMULTANEOUS`] ago: both
//!   dialled at once. Both nodes then keep the session dialled by the
//!   larger key and close the other as replaced, so they agree without a
//!   word; a dial waiting on the closed one moves to the kept one.
//! * The other node dialled long after this node's own session to it was
//!   established: it lost it, and the new one replaces it.

use std::time::{Duration, Instant};

use pinecone_engine::wire::PublicKey;

/// How long after its own dial's session is established a node still
/// treats the other node's dial as simultaneous with it.
pub(crate) const SIMULTANEOUS: Duration = Duration::from_secs(2);

/// The session already there, as the rule sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Existing {
    /// This node dialled it.
    pub(crate) outbound: bool,
    /// When it was established (`None`: still handshaking).
    pub(crate) established_at: Option<Instant>,
}

/// Whether the existing session stays (and the incoming one, dialled by
/// `remote`, is closed) rather than being replaced by it.
pub(crate) fn keep_existing(
    existing: Existing,
    local: &PublicKey,
    remote: &PublicKey,
    now: Instant,
) -> bool {
    if !existing.outbound {
        return false;
    }
    let simultaneous = existing
        .established_at
        .is_none_or(|at| now.saturating_duration_since(at) < SIMULTANEOUS);
    simultaneous && local > remote
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: PublicKey = PublicKey([1; 32]);
    const LARGE: PublicKey = PublicKey([2; 32]);

    #[test]
    fn a_redial_replaces_the_session_the_other_node_dialled() {
        let now = Instant::now();
        let accepted = Existing {
            outbound: false,
            established_at: Some(now),
        };
        assert!(!keep_existing(accepted, &LARGE, &SMALL, now));
        assert!(!keep_existing(accepted, &SMALL, &LARGE, now));
    }

    #[test]
    fn simultaneous_dials_keep_the_larger_keys_on_both_sides() {
        let now = Instant::now();
        let dialling = Existing {
            outbound: true,
            established_at: None,
        };
        // The larger node keeps its own dial; the smaller one gives its
        // own up for the larger one's: both keep the larger key's dial.
        assert!(keep_existing(dialling, &LARGE, &SMALL, now));
        assert!(!keep_existing(dialling, &SMALL, &LARGE, now));
        let just_up = Existing {
            outbound: true,
            established_at: Some(now),
        };
        let soon = now + Duration::from_millis(500);
        assert!(keep_existing(just_up, &LARGE, &SMALL, soon));
        assert!(!keep_existing(just_up, &SMALL, &LARGE, soon));
    }

    #[test]
    fn a_late_redial_replaces_even_the_larger_keys_session() {
        let now = Instant::now();
        let old = Existing {
            outbound: true,
            established_at: Some(now),
        };
        let later = now + SIMULTANEOUS + Duration::from_millis(1);
        assert!(!keep_existing(old, &LARGE, &SMALL, later));
    }
}
