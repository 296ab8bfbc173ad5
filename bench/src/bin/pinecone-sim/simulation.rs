//! A whole run: build the network, let it settle while probing, check every
//! pair, then optionally churn links and watch it recover.

use std::time::Instant;

use pinecone_engine::control::{Counters, RouterConfig};
use pinecone_engine::wire::PublicKey;
use pinecone_netkit::network::{Network, NetworkStats, NodeSpec, Unobserved};
use pinecone_netkit::rng::Rng;

use crate::churn::{self, ChurnOutcome};
use crate::keys::signing_key;
use crate::probes::{choose_pairs, hop_cap, shortest_paths, ProbeRound};
use crate::stretch::StretchSummary;
use crate::topology::{NodeId, Topology};

/// Virtual milliseconds between probe rounds while settling and churning.
pub const PROBE_INTERVAL_MS: u64 = 1_000;
/// Pairs probed in each round while settling or churning (all connected
/// pairs when there are fewer).
pub const ROUND_SAMPLE: u64 = 10_000;
/// Up to this many nodes the final check probes every connected pair.
pub const ALL_PAIRS_MAX_NODES: usize = 1_000;
/// Pairs the final check samples on larger graphs.
pub const FINAL_SAMPLE: u64 = 100_000;
/// Nodes start at random times within this many virtual milliseconds, so
/// that their timers are not all in step.
pub const START_SPREAD_MS: u64 = 1_000;
/// Random stream for the start times (probe rounds use their ids).
const START_STREAM: u64 = u64::MAX - 1;

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Virtual time before the final reachability check.
    pub settle_ms: u64,
    /// One-way latency of every link.
    pub latency_ms: u64,
    /// Links to cut and restore in each churn cycle (0: no churn).
    pub churn_links: usize,
    /// Seed for keys and every random choice.
    pub seed: u64,
    /// Worker threads stepping routers.
    pub threads: usize,
    /// Undelivered probes of the final check to describe on stderr.
    pub explain: usize,
    /// Whether routers send wakeup broadcasts of their own.
    pub wakeup_broadcasts: bool,
}

/// A probe round's time and result.
#[derive(Debug, Clone, Copy)]
pub struct RoundResult {
    /// Virtual time the probes were sent.
    pub at_ms: u64,
    /// Probes sent.
    pub pairs: usize,
    /// Probes delivered.
    pub delivered: usize,
}

impl RoundResult {
    fn complete(&self) -> bool {
        self.pairs == self.delivered
    }
}

/// What a run found.
#[derive(Debug)]
pub struct Outcome {
    /// First probe time from which every round, the final check included,
    /// delivered every probe.
    pub converged_at_ms: Option<u64>,
    /// Pairs in the final check.
    pub pairs: usize,
    /// Of those, delivered.
    pub delivered: usize,
    /// Stretch of the delivered probes of the final check.
    pub stretch: Option<StretchSummary>,
    /// Probes of the final check dropped for looping.
    pub looped: u64,
    /// Churn results, when churn was asked for.
    pub churn: Option<ChurnOutcome>,
    /// Network counters at the end.
    pub network: NetworkStats,
    /// Every router's drop counters, added up, at the end.
    pub router_drops: Counters,
    /// Virtual time at the end.
    pub end_ms: u64,
}

/// The earliest round time from which every later round delivered
/// everything; `None` if the last round did not.
pub fn stable_since(rounds: &[RoundResult]) -> Option<u64> {
    rounds
        .iter()
        .rev()
        .take_while(|round| round.complete())
        .last()
        .map(|round| round.at_ms)
}

/// The topology, its network and the run's running state.
pub struct Simulation<'t> {
    /// The graph being simulated.
    pub topology: &'t Topology,
    /// The public key of every node.
    pub keys: Vec<PublicKey>,
    /// The routers and links.
    pub network: Network,
    /// The run's settings.
    pub settings: Settings,
    hop_cap: u32,
    next_round: u32,
    wall: Instant,
}

impl<'t> Simulation<'t> {
    /// Builds the routers, each starting at a seeded random time within
    /// the first [`START_SPREAD_MS`], and brings every link up as soon as
    /// both its ends have started.
    pub fn new(topology: &'t Topology, settings: Settings) -> Simulation<'t> {
        let wall = Instant::now();
        let mut rng = Rng::new(settings.seed, START_STREAM);
        let starts: Vec<u64> = (0..topology.node_count())
            .map(|_| rng.below(START_SPREAD_MS))
            .collect();
        let nodes = (0..topology.node_count() as NodeId)
            .map(|node| NodeSpec {
                key: signing_key(settings.seed, topology.name(node)),
                start_ms: starts[node as usize],
                uri: format!("sim://{}", topology.name(node)),
            })
            .collect();
        let mut network = Network::new(
            nodes,
            topology.links(),
            &RouterConfig {
                wakeup_broadcasts: settings.wakeup_broadcasts,
                ..RouterConfig::default()
            },
            settings.latency_ms,
            settings.threads,
        );
        let mut link_ups: Vec<(u64, usize)> = topology
            .links()
            .iter()
            .enumerate()
            .map(|(link, &(a, b))| (starts[a as usize].max(starts[b as usize]), link))
            .collect();
        link_ups.sort_unstable();
        for (at, link) in link_ups {
            network.run_before(at, &mut Unobserved);
            network.connect(link, &mut Unobserved);
        }
        Simulation {
            topology,
            keys: network.keys().to_vec(),
            network,
            settings,
            hop_cap: hop_cap(topology),
            next_round: 1,
            wall,
        }
    }

    /// Settles, checks every pair, then churns if asked.
    pub fn run(mut self) -> Result<Outcome, String> {
        let mut rounds = Vec::new();
        for tick in 1.. {
            let at = tick * PROBE_INTERVAL_MS;
            if at >= self.settings.settle_ms {
                break;
            }
            self.advance_to(at);
            rounds.push(self.sample_round(ROUND_SAMPLE, "settling"));
        }
        self.advance_to(self.settings.settle_ms);
        let check = self.full_check("final check");
        rounds.push(check.result);
        let churn = if self.settings.churn_links > 0 {
            Some(churn::run(&mut self)?)
        } else {
            None
        };
        for closure in &self.network.stats().first_closures {
            eprintln!(
                "[sim] t={:.3}s node {} closed port {}: {}",
                closure.at_ms as f64 / 1000.0,
                closure.node,
                closure.port,
                closure.reason
            );
        }
        Ok(Outcome {
            converged_at_ms: stable_since(&rounds),
            pairs: check.result.pairs,
            delivered: check.result.delivered,
            stretch: check.stretch,
            looped: check.looped,
            churn,
            network: self.network.stats().clone(),
            router_drops: self.network.router_counters(),
            end_ms: self.network.now(),
        })
    }

    /// Runs the network up to virtual time `at` (or leaves it where it is
    /// if it is already later).
    pub fn advance_to(&mut self, at: u64) {
        self.network.run_before(at, &mut Unobserved);
    }

    /// Probes a seeded sample of at most `limit` pairs now.
    pub fn sample_round(&mut self, limit: u64, phase: &str) -> RoundResult {
        let id = self.take_round_id();
        let pairs = choose_pairs(
            self.topology,
            limit,
            &mut Rng::new(self.settings.seed, id.into()),
        );
        let mut round = ProbeRound::new(id, &self.keys, pairs, self.hop_cap, false);
        let at_ms = self.network.now();
        round.run(&mut self.network);
        let result = RoundResult {
            at_ms,
            pairs: round.pairs.len(),
            delivered: round.delivered_count(),
        };
        self.log_round(phase, &result, round.looped);
        result
    }

    /// Probes every pair (or the large-graph sample) now and measures
    /// stretch.
    pub fn full_check(&mut self, phase: &str) -> FullCheck {
        let id = self.take_round_id();
        let limit = if self.topology.node_count() <= ALL_PAIRS_MAX_NODES {
            u64::MAX
        } else {
            FINAL_SAMPLE
        };
        let pairs = choose_pairs(
            self.topology,
            limit,
            &mut Rng::new(self.settings.seed, id.into()),
        );
        let shortest = shortest_paths(self.topology, &pairs);
        let mut round = ProbeRound::new(
            id,
            &self.keys,
            pairs,
            self.hop_cap,
            self.settings.explain > 0,
        );
        let at_ms = self.network.now();
        round.run(&mut self.network);
        let result = RoundResult {
            at_ms,
            pairs: round.pairs.len(),
            delivered: round.delivered_count(),
        };
        self.log_round(phase, &result, round.looped);
        if self.settings.explain > 0 {
            crate::explain::undelivered(self, &round, &shortest);
        }
        FullCheck {
            result,
            stretch: StretchSummary::of(
                round.delivered_hops().map(|(i, hops)| (hops, shortest[i])),
            ),
            looped: round.looped,
        }
    }

    fn take_round_id(&mut self) -> u32 {
        let id = self.next_round;
        self.next_round += 1;
        id
    }

    fn log_round(&self, phase: &str, result: &RoundResult, looped: u64) {
        let looped = if looped > 0 {
            format!(", {looped} looped")
        } else {
            String::new()
        };
        eprintln!(
            "[sim] t={:>7.3}s {phase}: {}/{} delivered{looped} (wall {:.1}s)",
            result.at_ms as f64 / 1000.0,
            result.delivered,
            result.pairs,
            self.wall.elapsed().as_secs_f64()
        );
    }
}

/// The result of a full reachability check.
pub struct FullCheck {
    /// Time, pairs and deliveries.
    pub result: RoundResult,
    /// Stretch of the delivered probes.
    pub stretch: Option<StretchSummary>,
    /// Probes dropped for looping.
    pub looped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(at_ms: u64, delivered: usize) -> RoundResult {
        RoundResult {
            at_ms,
            pairs: 10,
            delivered,
        }
    }

    #[test]
    fn convergence_is_the_start_of_the_last_complete_run_of_rounds() {
        let rounds = [
            round(1, 3),
            round(2, 10),
            round(3, 9),
            round(4, 10),
            round(5, 10),
        ];
        assert_eq!(stable_since(&rounds), Some(4));
        assert_eq!(stable_since(&rounds[..3]), None);
        assert_eq!(stable_since(&rounds[1..2]), Some(2));
        assert_eq!(stable_since(&[]), None);
    }
}
