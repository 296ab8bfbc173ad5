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
//!   dialled at once, and each may already have opened streams on its
//!   own dial. Both nodes then list the session dialled by the larger key
//!   and stop listing the other, without closing it: streams already on
//!   it finish, no new ones go on it, and it closes when idle. The two
//!   nodes agree without a word, and a dial waiting on the unlisted one
//!   moves to the listed one.
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

/// What becomes of two sessions with the same key and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The incoming one replaces the existing one, which is closed.
    Replace,
    /// Both stay open; only the one dialled by the larger key is listed.
    KeepBoth {
        /// The incoming one is listed (the other node's key is larger).
        incoming_listed: bool,
    },
}

/// What to do when a session dialled by `remote` is established while
/// `existing` is there.
pub(crate) fn decide(
    existing: Existing,
    local: &PublicKey,
    remote: &PublicKey,
    now: Instant,
) -> Outcome {
    let simultaneous = existing.outbound
        && existing
            .established_at
            .is_none_or(|at| now.saturating_duration_since(at) < SIMULTANEOUS);
    if simultaneous {
        Outcome::KeepBoth {
            incoming_listed: remote > local,
        }
    } else {
        Outcome::Replace
    }
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
        assert_eq!(decide(accepted, &LARGE, &SMALL, now), Outcome::Replace);
        assert_eq!(decide(accepted, &SMALL, &LARGE, now), Outcome::Replace);
    }

    #[test]
    fn simultaneous_dials_list_the_larger_keys_on_both_sides() {
        let now = Instant::now();
        let dialling = Existing {
            outbound: true,
            established_at: None,
        };
        // The larger node lists its own dial; the smaller one lists the
        // larger one's: both list the larger key's dial.
        let larger_sees = decide(dialling, &LARGE, &SMALL, now);
        let smaller_sees = decide(dialling, &SMALL, &LARGE, now);
        assert_eq!(
            larger_sees,
            Outcome::KeepBoth {
                incoming_listed: false
            }
        );
        assert_eq!(
            smaller_sees,
            Outcome::KeepBoth {
                incoming_listed: true
            }
        );
        let just_up = Existing {
            outbound: true,
            established_at: Some(now),
        };
        let soon = now + Duration::from_millis(500);
        assert_eq!(
            decide(just_up, &LARGE, &SMALL, soon),
            Outcome::KeepBoth {
                incoming_listed: false
            }
        );
    }

    #[test]
    fn a_late_redial_replaces_even_the_larger_keys_session() {
        let now = Instant::now();
        let old = Existing {
            outbound: true,
            established_at: Some(now),
        };
        let later = now + SIMULTANEOUS + Duration::from_millis(1);
        assert_eq!(decide(old, &LARGE, &SMALL, later), Outcome::Replace);
    }
}
