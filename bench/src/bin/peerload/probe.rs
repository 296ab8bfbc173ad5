//! Two in-process nodes that peer only with the daemon and send each other
//! a datagram every second: proof that traffic between two other peers
//! still crosses the daemon under load.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pinecone_engine::wire::PublicKey;
use pinecone_transports::{Node, NodeConfig};

use crate::report::ProbeCounts;

/// What a measured probe datagram starts with (then its number).
const PROBE_PREFIX: &[u8] = b"peerload probe ";
/// What a datagram sent while waiting for the nodes to converge says.
const WARMUP: &[u8] = b"peerload warmup";
/// One probe each way this often.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// A warm-up datagram each way this often, until both arrive.
const WARMUP_EVERY: Duration = Duration::from_millis(250);
/// How long to wait for probes still in flight after the stop.
const FINAL_WAIT: Duration = Duration::from_secs(1);
/// How long to sleep between looks at the nodes' inboxes.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Two nodes peered with the daemon that have reached each other through
/// it.
pub struct Probe {
    a: Node,
    b: Node,
    converged_after: Duration,
}

impl Probe {
    /// Starts two nodes, connects both to `target`, and waits (at most
    /// `patience`) until a datagram has crossed the daemon each way.
    pub fn start(target: SocketAddr, patience: Duration) -> Result<Probe, String> {
        let start = Instant::now();
        let node = || Node::random(NodeConfig::default()).map_err(|e| format!("probe node: {e}"));
        let (a, b) = (node()?, node()?);
        for n in [&a, &b] {
            n.connect(&target.to_string())
                .map_err(|e| format!("probe node cannot dial {target}: {e}"))?;
        }
        let (mut a_heard, mut b_heard) = (false, false);
        let mut next_send = start;
        while !(a_heard && b_heard) {
            let now = Instant::now();
            if now >= start + patience {
                return Err(format!(
                    "the probe nodes did not reach each other through {target} within {} s",
                    patience.as_secs()
                ));
            }
            if now >= next_send {
                // Until the nodes have routes, sends may fail: keep trying.
                let _ = a.send(b.public_key(), WARMUP);
                let _ = b.send(a.public_key(), WARMUP);
                next_send = now + WARMUP_EVERY;
            }
            a_heard |= count_from(&a, b.public_key(), WARMUP) > 0;
            b_heard |= count_from(&b, a.public_key(), WARMUP) > 0;
            std::thread::sleep(POLL_EVERY);
        }
        Ok(Probe {
            a,
            b,
            converged_after: start.elapsed(),
        })
    }

    /// Sends a numbered datagram each way every second until `stop` is
    /// set, then waits a little for those still in flight; shuts the nodes
    /// down.
    pub fn run_until(self, stop: &AtomicBool) -> ProbeCounts {
        let mut counts = ProbeCounts {
            converged_after_ms: u64::try_from(self.converged_after.as_millis()).unwrap_or(u64::MAX),
            ..ProbeCounts::default()
        };
        let mut next_send = Instant::now();
        let mut number = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if Instant::now() >= next_send {
                number += 1;
                let payload = [PROBE_PREFIX, &number.to_be_bytes()].concat();
                // A failed send is a probe that never arrives.
                let _ = self.a.send(self.b.public_key(), &payload);
                let _ = self.b.send(self.a.public_key(), &payload);
                counts.sent += 2;
                next_send += PROBE_EVERY;
            }
            counts.received += self.received();
            std::thread::sleep(POLL_EVERY);
        }
        let deadline = Instant::now() + FINAL_WAIT;
        while counts.received < counts.sent && Instant::now() < deadline {
            counts.received += self.received();
            std::thread::sleep(POLL_EVERY);
        }
        counts
    }

    /// Probes received by either node since the last look.
    fn received(&self) -> u64 {
        count_from(&self.a, self.b.public_key(), PROBE_PREFIX)
            + count_from(&self.b, self.a.public_key(), PROBE_PREFIX)
    }
}

/// Takes every datagram waiting at `node`, counting those from `sender`
/// that start with `prefix`.
fn count_from(node: &Node, sender: PublicKey, prefix: &[u8]) -> u64 {
    let mut count = 0;
    while let Some(datagram) = node.try_recv() {
        if datagram.source == sender && datagram.payload.starts_with(prefix) {
            count += 1;
        }
    }
    count
}
