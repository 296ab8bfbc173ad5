//! Link churn: cut a random set of links, restore them, repeat; probe all
//! along and measure how long the network takes to recover.
//!
//! Each cycle cuts `N` links chosen at random among those whose joint
//! removal separates no two nodes (so every probed pair stays reachable),
//! holds them down for [`DOWN_MS`], restores them, and waits [`UP_MS`]
//! before the next cycle. Probe rounds run every
//! [`crate::simulation::PROBE_INTERVAL_MS`], starting at
//! the first cut; after the last restore they go on for [`WATCH_MS`], and a
//! full check ends the run.

use pinecone_netkit::network::Unobserved;
use pinecone_netkit::rng::Rng;

use crate::simulation::{stable_since, Simulation, PROBE_INTERVAL_MS, ROUND_SAMPLE};
use crate::topology::Topology;

/// Cut-and-restore cycles in a churn run.
pub const CYCLES: u64 = 5;
/// How long the cut links stay down.
pub const DOWN_MS: u64 = 5_000;
/// How long all links stay up between cycles.
pub const UP_MS: u64 = 5_000;
/// How long probing goes on after the last restore.
pub const WATCH_MS: u64 = 30_000;
/// Random link sets tried before giving up on one that keeps the graph
/// connected.
const CUT_ATTEMPTS: usize = 1_000;
/// Random stream for the choice of links (probe rounds use their ids).
const CUT_STREAM: u64 = u64::MAX;

/// What churn did to delivery.
#[derive(Debug, Clone)]
pub struct ChurnOutcome {
    /// Links cut per cycle.
    pub links: usize,
    /// Cut-and-restore cycles.
    pub cycles: u64,
    /// Probes sent from the first cut up to the last restore.
    pub probes: usize,
    /// Of those, delivered.
    pub delivered: usize,
    /// From the last change until every later round (and the final full
    /// check) delivered every probe; `None` if the network never did.
    pub reconverge_ms: Option<u64>,
    /// Pairs in the full check at the end.
    pub final_pairs: usize,
    /// Of those, delivered.
    pub final_delivered: usize,
}

impl ChurnOutcome {
    /// Fraction of probes delivered during churn.
    pub fn delivery_ratio(&self) -> f64 {
        if self.probes == 0 {
            1.0
        } else {
            self.delivered as f64 / self.probes as f64
        }
    }
}

/// Runs the churn phase from the next whole second of virtual time.
pub fn run(sim: &mut Simulation<'_>) -> Result<ChurnOutcome, String> {
    let links = sim.settings.churn_links;
    if links > sim.topology.links().len() {
        return Err(format!(
            "cannot cut {links} links: the graph has only {}",
            sim.topology.links().len()
        ));
    }
    let mut rng = Rng::new(sim.settings.seed, CUT_STREAM);
    let period = DOWN_MS + UP_MS;
    let start = sim.network.now().div_ceil(PROBE_INTERVAL_MS) * PROBE_INTERVAL_MS;
    let last_change = start + (CYCLES - 1) * period + DOWN_MS;
    let end = last_change + WATCH_MS;
    let (mut probes, mut delivered) = (0, 0);
    let mut after_last_change = Vec::new();
    let mut cut: Vec<usize> = Vec::new();
    let mut at = start;
    loop {
        sim.advance_to(at);
        if at <= last_change {
            let phase = (at - start) % period;
            if phase == 0 {
                cut = choose_cut(sim.topology, links, &mut rng).ok_or_else(|| {
                    format!("no set of {links} links can be cut without partitioning the graph")
                })?;
                eprintln!(
                    "[sim] t={:>7.3}s churn: cutting {links} links",
                    at as f64 / 1000.0
                );
                for &link in &cut {
                    sim.network.disconnect(link, &mut Unobserved);
                }
            } else if phase == DOWN_MS {
                eprintln!(
                    "[sim] t={:>7.3}s churn: restoring {links} links",
                    at as f64 / 1000.0
                );
                for &link in &cut {
                    sim.network.connect(link, &mut Unobserved);
                }
            }
        }
        if at >= end {
            break;
        }
        let result = sim.sample_round(ROUND_SAMPLE, "churn");
        if at < last_change {
            probes += result.pairs;
            delivered += result.delivered;
        } else {
            after_last_change.push(result);
        }
        at += PROBE_INTERVAL_MS;
    }
    let check = sim.full_check("after churn");
    after_last_change.push(check.result);
    Ok(ChurnOutcome {
        links,
        cycles: CYCLES,
        probes,
        delivered,
        reconverge_ms: stable_since(&after_last_change).map(|at| at - last_change),
        final_pairs: check.result.pairs,
        final_delivered: check.result.delivered,
    })
}

/// `count` distinct random links whose removal keeps every connected pair
/// connected, if such a set turns up within [`CUT_ATTEMPTS`] tries.
fn choose_cut(topology: &Topology, count: usize, rng: &mut Rng) -> Option<Vec<usize>> {
    let total = topology.links().len() as u64;
    for _ in 0..CUT_ATTEMPTS {
        let mut set: Vec<usize> = Vec::with_capacity(count);
        while set.len() < count {
            let link = rng.below(total) as usize;
            if !set.contains(&link) {
                set.push(link);
            }
        }
        if topology.stays_connected_without(&set) {
            return Some(set);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_keep_the_graph_connected() {
        // A ring of eight survives any single cut, never two.
        let ring = Topology::parse("0 1 2 3 4 5 6 7 0");
        let mut rng = Rng::new(3, 0);
        for _ in 0..20 {
            let cut = choose_cut(&ring, 1, &mut rng).unwrap();
            assert_eq!(cut.len(), 1);
        }
        assert_eq!(choose_cut(&ring, 2, &mut rng), None);
    }

    #[test]
    fn a_tree_has_no_safe_cut() {
        let line = Topology::parse("a b c d");
        assert_eq!(choose_cut(&line, 1, &mut Rng::new(1, 0)), None);
    }
}
