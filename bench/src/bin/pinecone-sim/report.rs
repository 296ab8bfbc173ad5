//! The run's results, as one JSON object or a readable summary.

use pinecone_engine::control::Counters;
use serde::Serialize;

use crate::simulation::{Outcome, Settings};
use crate::topology::Topology;

/// Everything a run reports.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The topology file's name.
    pub graph: String,
    /// Nodes in the topology.
    pub nodes: usize,
    /// Distinct links in the topology.
    pub links: usize,
    /// Connected components of the topology (pairs are only drawn within
    /// one).
    pub components: usize,
    /// Virtual seconds before the final check.
    pub settle_s: f64,
    /// One-way link latency.
    pub latency_ms: u64,
    /// The seed of keys and random choices.
    pub seed: u64,
    /// Whether routers sent wakeup broadcasts of their own.
    pub wakeup_broadcasts: bool,
    /// First probe time from which every round delivered every probe.
    pub converged_at_s: Option<f64>,
    /// Pairs in the final check.
    pub pairs: usize,
    /// Of those, delivered.
    pub delivered: usize,
    /// Probes of the final check dropped for looping.
    pub looped: u64,
    /// Last time any node's tree parent changed.
    pub last_parent_change_s: f64,
    /// Last time any node's descending (next lower key) node changed.
    pub last_descending_change_s: f64,
    /// Mean stretch of the delivered final-check probes.
    pub stretch_mean: Option<f64>,
    /// Median stretch.
    pub stretch_p50: Option<f64>,
    /// 99th-percentile stretch.
    pub stretch_p99: Option<f64>,
    /// Frames put on links over the whole run.
    pub frames: u64,
    /// The same, by frame type.
    pub frames_by_type: FrameCounts,
    /// What the routers dropped, by reason, added up over all nodes.
    pub router_drops: Counters,
    /// Peerings a router closed by itself.
    pub peerings_closed: u64,
    /// Virtual seconds simulated.
    pub virtual_s: f64,
    /// Wall-clock seconds of the whole run.
    pub wall_s: f64,
    /// Peak resident memory (VmHWM).
    pub max_rss_mb: Option<f64>,
    /// Churn results, with `--churn`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub churn: Option<ChurnReport>,
}

/// Frames put on links, by type.
#[derive(Debug, Serialize)]
pub struct FrameCounts {
    /// Keepalives.
    pub keepalive: u64,
    /// Tree announcements.
    pub announcement: u64,
    /// SNEK bootstraps.
    pub bootstrap: u64,
    /// Traffic (the probes).
    pub traffic: u64,
    /// Wakeup broadcasts.
    pub broadcast: u64,
}

/// The churn part of a report.
#[derive(Debug, Serialize)]
pub struct ChurnReport {
    /// Links cut in each cycle.
    pub churn_links: usize,
    /// Cut-and-restore cycles.
    pub churn_cycles: u64,
    /// Probes sent during churn.
    pub churn_probes: usize,
    /// Fraction of them delivered.
    pub churn_delivery_ratio: f64,
    /// Seconds from the last restore until every probe delivered again.
    pub reconverge_s: Option<f64>,
    /// Pairs in the full check after churn.
    pub churn_final_pairs: usize,
    /// Of those, delivered.
    pub churn_final_delivered: usize,
}

impl Report {
    /// Assembles the report of a finished run.
    pub fn new(
        graph: String,
        topology: &Topology,
        settings: &Settings,
        outcome: &Outcome,
        wall_s: f64,
    ) -> Report {
        let seconds = |ms: u64| ms as f64 / 1000.0;
        Report {
            graph,
            nodes: topology.node_count(),
            links: topology.links().len(),
            components: topology.component_count(),
            settle_s: seconds(settings.settle_ms),
            latency_ms: settings.latency_ms,
            seed: settings.seed,
            wakeup_broadcasts: settings.wakeup_broadcasts,
            converged_at_s: outcome.converged_at_ms.map(seconds),
            pairs: outcome.pairs,
            delivered: outcome.delivered,
            looped: outcome.looped,
            last_parent_change_s: seconds(outcome.network.last_parent_change_ms),
            last_descending_change_s: seconds(outcome.network.last_descending_change_ms),
            stretch_mean: outcome.stretch.map(|s| s.mean),
            stretch_p50: outcome.stretch.map(|s| s.p50),
            stretch_p99: outcome.stretch.map(|s| s.p99),
            frames: outcome.network.frames_by_type.iter().sum(),
            frames_by_type: FrameCounts {
                keepalive: outcome.network.frames_by_type[0],
                announcement: outcome.network.frames_by_type[1],
                bootstrap: outcome.network.frames_by_type[2],
                traffic: outcome.network.frames_by_type[3],
                broadcast: outcome.network.frames_by_type[4],
            },
            router_drops: outcome.router_drops,
            peerings_closed: outcome.network.peerings_closed_by_router,
            virtual_s: seconds(outcome.end_ms),
            wall_s,
            max_rss_mb: max_rss_mb(),
            churn: outcome.churn.as_ref().map(|churn| ChurnReport {
                churn_links: churn.links,
                churn_cycles: churn.cycles,
                churn_probes: churn.probes,
                churn_delivery_ratio: churn.delivery_ratio(),
                reconverge_s: churn.reconverge_ms.map(seconds),
                churn_final_pairs: churn.final_pairs,
                churn_final_delivered: churn.final_delivered,
            }),
        }
    }

    /// A few lines for a person to read.
    pub fn summary(&self) -> String {
        let or_never = |v: Option<f64>| v.map_or("never".to_owned(), |s| format!("{s:.3} s"));
        let number = |v: Option<f64>| v.map_or("-".to_owned(), |x| format!("{x:.3}"));
        let mut text = format!(
            "graph {}: {} nodes, {} links, {} component(s)\n\
             settled {} s at {} ms per link (seed {}{})\n\
             converged at: {} (last parent change {:.3} s, last descending change {:.3} s)\n\
             delivered {}/{} pairs ({} looped)\n\
             stretch mean {}, p50 {}, p99 {}\n\
             {} frames ({} announcements, {} bootstraps, {} traffic, {} broadcasts, {} keepalives)\n\
             routers dropped {} traffic/bootstrap frames as unroutable, {} as loops, {} for their watermark\n\
             {} peerings closed by routers, {:.3} virtual s\n\
             wall {:.2} s, max RSS {}\n",
            self.graph,
            self.nodes,
            self.links,
            self.components,
            self.settle_s,
            self.latency_ms,
            self.seed,
            if self.wakeup_broadcasts {
                ""
            } else {
                ", no wakeup broadcasts"
            },
            or_never(self.converged_at_s),
            self.last_parent_change_s,
            self.last_descending_change_s,
            self.delivered,
            self.pairs,
            self.looped,
            number(self.stretch_mean),
            number(self.stretch_p50),
            number(self.stretch_p99),
            self.frames,
            self.frames_by_type.announcement,
            self.frames_by_type.bootstrap,
            self.frames_by_type.traffic,
            self.frames_by_type.broadcast,
            self.frames_by_type.keepalive,
            self.router_drops.unroutable,
            self.router_drops.loops,
            self.router_drops.watermark_drops,
            self.peerings_closed,
            self.virtual_s,
            self.wall_s,
            self.max_rss_mb
                .map_or("unknown".to_owned(), |mb| format!("{mb:.1} MB")),
        );
        if let Some(churn) = &self.churn {
            text.push_str(&format!(
                "churn: {} cycles of {} links; {:.2}% of {} probes delivered during churn\n\
                 re-converged {} after the last change; then {}/{} pairs delivered\n",
                churn.churn_cycles,
                churn.churn_links,
                churn.churn_delivery_ratio * 100.0,
                churn.churn_probes,
                or_never(churn.reconverge_s),
                churn.churn_final_delivered,
                churn.churn_final_pairs,
            ));
        }
        text
    }
}

/// Peak resident set size of this process in MB, from /proc/self/status.
fn max_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
