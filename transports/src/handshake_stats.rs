//! Counts of peering handshakes by outcome, kept by the [`Transport`]
//! that runs them (inbound, dialled and attached alike).
//!
//! [`Transport`]: crate::Transport

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use pinecone_engine::wire::HandshakeError;

use crate::handshake::HandshakeFailure;

/// Handshakes by outcome, since the transport was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HandshakeStats {
    /// Handshakes that succeeded (the peering may still be refused at the
    /// node's peering limits).
    pub completed: u64,
    /// Not finished before the deadline.
    pub timed_out: u64,
    /// The peer closed the connection first.
    pub closed: u64,
    /// Reading or writing failed.
    pub io_error: u64,
    /// The peer's handshake had the wrong length.
    pub wrong_length: u64,
    /// The peer speaks another protocol version.
    pub version_mismatch: u64,
    /// The peer has other capabilities.
    pub capability_mismatch: u64,
    /// The peer's signature did not verify.
    pub bad_signature: u64,
    /// The peer presented our own key.
    pub own_key: u64,
}

impl HandshakeStats {
    /// Each failure's name (`snake_case`, as serialised) with its count.
    pub fn failures(&self) -> [(&'static str, u64); 8] {
        [
            ("timed_out", self.timed_out),
            ("closed", self.closed),
            ("io_error", self.io_error),
            ("wrong_length", self.wrong_length),
            ("version_mismatch", self.version_mismatch),
            ("capability_mismatch", self.capability_mismatch),
            ("bad_signature", self.bad_signature),
            ("own_key", self.own_key),
        ]
    }
}

/// The outcomes, counted from any thread.
#[derive(Debug, Default)]
pub(crate) struct HandshakeTally {
    counts: [AtomicU64; 9],
}

impl HandshakeTally {
    /// Counts one handshake's outcome.
    pub(crate) fn record<T>(&self, outcome: &Result<T, HandshakeFailure>) {
        let index = match outcome {
            Ok(_) => 0,
            Err(HandshakeFailure::Timeout(_)) => 1,
            Err(HandshakeFailure::Closed) => 2,
            Err(HandshakeFailure::Io(_)) => 3,
            Err(HandshakeFailure::Refused(refused)) => match refused {
                HandshakeError::WrongLength { .. } => 4,
                HandshakeError::VersionMismatch { .. } => 5,
                HandshakeError::CapabilityMismatch { .. } => 6,
                HandshakeError::BadSignature => 7,
                HandshakeError::OwnKey => 8,
            },
        };
        if let Some(count) = self.counts.get(index) {
            count.fetch_add(1, Relaxed);
        }
    }

    /// The counts now.
    pub(crate) fn stats(&self) -> HandshakeStats {
        let [completed, timed_out, closed, io_error, wrong_length, version_mismatch, capability_mismatch, bad_signature, own_key] =
            self.counts.each_ref().map(|count| count.load(Relaxed));
        HandshakeStats {
            completed,
            timed_out,
            closed,
            io_error,
            wrong_length,
            version_mismatch,
            capability_mismatch,
            bad_signature,
            own_key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_outcome_has_its_own_count() {
        let tally = HandshakeTally::default();
        tally.record(&Ok::<(), HandshakeFailure>(()));
        tally.record(&Ok::<(), HandshakeFailure>(()));
        tally.record::<()>(&Err(HandshakeFailure::Timeout(Duration::from_secs(1))));
        tally.record::<()>(&Err(HandshakeFailure::Refused(
            HandshakeError::BadSignature,
        )));
        tally.record::<()>(&Err(HandshakeFailure::Refused(HandshakeError::OwnKey)));
        let stats = tally.stats();
        assert_eq!(stats.completed, 2);
        assert_eq!(
            (stats.timed_out, stats.bad_signature, stats.own_key),
            (1, 1, 1)
        );
        let failed: u64 = stats.failures().iter().map(|(_, n)| n).sum();
        assert_eq!(failed, 3);
    }
}
