//! What a run found, as counts, as text for people and as one JSON object.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::memory::Resident;

/// The largest gap between the daemon's frames on a healthy peering: its
/// keepalive interval (3 s) and some scheduling slack.
pub const GAP_LIMIT_MS: u64 = 3_500;

/// What happened to the load peerings.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct PeeringCounts {
    /// Connections started.
    pub attempted: u64,
    /// Handshakes completed.
    pub accepted: u64,
    /// Connections that ended, or were still unfinished at the end, before
    /// their handshake completed: `attempted - accepted`.
    pub refused: u64,
    /// `refused`, by what happened.
    pub refused_by_kind: BTreeMap<String, u64>,
    /// Peerings still up when the run ended.
    pub alive_at_end: u64,
    /// Peerings the daemon closed or reset after the handshake.
    pub closed_by_daemon: u64,
    /// Peerings closed because the daemon sent bytes that are not frames.
    pub bad_frames_from_daemon: u64,
    /// The largest gap between frames from the daemon on any peering alive
    /// at the end, counting the silence up to the end, in milliseconds.
    pub largest_gap_ms: u64,
    /// Peerings alive at the end whose largest gap reached
    /// [`GAP_LIMIT_MS`].
    pub gaps_over_limit: u64,
}

impl PeeringCounts {
    /// Counts one connection that did not complete its handshake.
    pub fn refuse(&mut self, kind: String) {
        self.refused += 1;
        *self.refused_by_kind.entry(kind).or_default() += 1;
    }
}

/// The daemon's resident memory around the run, in KiB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaemonMemory {
    /// The daemon's process id.
    pub pid: u32,
    /// Resident before the first peering opened (`VmRSS`).
    pub rss_before_kib: u64,
    /// The most ever resident, read at the end (`VmHWM`).
    pub peak_kib: u64,
    /// Resident at the end, with every peering still open (`VmRSS`).
    pub rss_end_kib: u64,
    /// `(peak - before) / accepted`; absent when nothing was accepted.
    pub kib_per_peering: Option<f64>,
}

impl DaemonMemory {
    /// The figures from readings `before` and at the `end`, for `accepted`
    /// peerings.
    pub fn new(pid: u32, before: Resident, end: Resident, accepted: u64) -> DaemonMemory {
        let growth = end.peak_kib.saturating_sub(before.now_kib);
        DaemonMemory {
            pid,
            rss_before_kib: before.now_kib,
            peak_kib: end.peak_kib,
            rss_end_kib: end.now_kib,
            kib_per_peering: (accepted > 0).then(|| growth as f64 / accepted as f64),
        }
    }
}

/// Datagrams between the two probe nodes, through the daemon.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProbeCounts {
    /// How long the probe nodes took to reach each other, before the load
    /// started, in milliseconds.
    pub converged_after_ms: u64,
    /// Probe datagrams sent, both ways together.
    pub sent: u64,
    /// Probe datagrams received.
    pub received: u64,
}

/// Connections holding the daemon's handshake slots.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HoldCounts {
    /// Slots held at once.
    pub slots: u64,
    /// Connected and held when the run ended.
    pub held_at_end: u64,
    /// Times one was opened again after the daemon closed it (or it failed).
    pub reopenings: u64,
}

/// Peerings flooding bootstraps with bad signatures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FloodCounts {
    /// Flooding peerings kept at once.
    pub peerings: u64,
    /// Handshakes they completed, reconnections included.
    pub handshakes: u64,
    /// Bad bootstrap frames wholly written to the daemon.
    pub frames_sent: u64,
    /// Times the daemon closed a flooding peering after its handshake.
    pub disconnections: u64,
    /// Times a flooding connection ended before its handshake completed.
    pub refused: u64,
}

/// Everything a run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The daemon's address.
    pub target: String,
    /// The first source address, when connections bind their own.
    pub source_range: Option<String>,
    /// Connections started per second.
    pub rate: f64,
    /// The load peerings.
    #[serde(flatten)]
    pub peerings: PeeringCounts,
    /// Seconds from the first connection started to the last.
    pub open_seconds: f64,
    /// Seconds held after the last connection started.
    pub held_seconds: f64,
    /// The daemon's memory, when its process id was given.
    pub daemon_memory: Option<DaemonMemory>,
    /// Traffic between the probe nodes, when asked for.
    pub probe: Option<ProbeCounts>,
    /// Held handshake slots, when asked for.
    pub hold_slots: Option<HoldCounts>,
    /// Bad-bootstrap floods, when asked for.
    pub flood: Option<FloodCounts>,
}

impl Report {
    /// The report as aligned lines of text.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let p = &self.peerings;
        let from = self
            .source_range
            .as_ref()
            .map_or_else(String::new, |first| format!(" from {first} up"));
        let _ = writeln!(text, "target                 {}{from}", self.target);
        let _ = writeln!(
            text,
            "attempted              {} (opened in {:.1} s at {}/s, held {:.1} s)",
            p.attempted, self.open_seconds, self.rate, self.held_seconds
        );
        let _ = writeln!(text, "accepted               {}", p.accepted);
        let _ = writeln!(text, "refused                {}", p.refused);
        for (kind, count) in &p.refused_by_kind {
            let _ = writeln!(text, "  {kind:<20} {count}");
        }
        let _ = writeln!(text, "alive at end           {}", p.alive_at_end);
        let _ = writeln!(text, "closed by the daemon   {}", p.closed_by_daemon);
        if p.bad_frames_from_daemon > 0 {
            let _ = writeln!(text, "bad frames from daemon {}", p.bad_frames_from_daemon);
        }
        if p.alive_at_end > 0 {
            let _ = writeln!(
                text,
                "largest frame gap      {} ms; {} peerings at or over {GAP_LIMIT_MS} ms",
                p.largest_gap_ms, p.gaps_over_limit
            );
        }
        if let Some(m) = &self.daemon_memory {
            let _ = writeln!(
                text,
                "daemon RSS             before {} KiB, peak {} KiB, end {} KiB",
                m.rss_before_kib, m.peak_kib, m.rss_end_kib
            );
            if let Some(per) = m.kib_per_peering {
                let _ = writeln!(
                    text,
                    "                       {per:.1} KiB per accepted peering"
                );
            }
        }
        if let Some(probe) = &self.probe {
            let _ = writeln!(
                text,
                "probes                 sent {}, received {} (converged after {} ms)",
                probe.sent, probe.received, probe.converged_after_ms
            );
        }
        if let Some(hold) = &self.hold_slots {
            let _ = writeln!(
                text,
                "held slots             {} ({} held at end, {} reopenings)",
                hold.slots, hold.held_at_end, hold.reopenings
            );
        }
        if let Some(flood) = &self.flood {
            let _ = writeln!(
                text,
                "bad-bootstrap floods   {} peerings: {} handshakes, {} frames, {} disconnections, {} refused",
                flood.peerings,
                flood.handshakes,
                flood.frames_sent,
                flood.disconnections,
                flood.refused
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(peerings: PeeringCounts) -> Report {
        Report {
            target: "127.0.0.1:7000".to_owned(),
            source_range: Some("127.1.0.1".to_owned()),
            rate: 1000.0,
            peerings,
            open_seconds: 1.0,
            held_seconds: 60.0,
            daemon_memory: None,
            probe: None,
            hold_slots: None,
            flood: None,
        }
    }

    #[test]
    fn refusals_are_counted_in_total_and_by_kind() {
        let mut counts = PeeringCounts {
            attempted: 5,
            accepted: 2,
            ..PeeringCounts::default()
        };
        counts.refuse("closed".to_owned());
        counts.refuse("connect: connection refused".to_owned());
        counts.refuse("closed".to_owned());
        assert_eq!(counts.refused, 3);
        assert_eq!(counts.refused_by_kind["closed"], 2);
        assert_eq!(counts.refused_by_kind["connect: connection refused"], 1);
        assert_eq!(counts.accepted + counts.refused, counts.attempted);
    }

    #[test]
    fn memory_per_peering_is_peak_growth_over_accepted() {
        let before = Resident {
            now_kib: 10_000,
            peak_kib: 12_000,
        };
        let end = Resident {
            now_kib: 150_000,
            peak_kib: 160_000,
        };
        let memory = DaemonMemory::new(1, before, end, 1_000);
        assert_eq!(memory.rss_before_kib, 10_000);
        assert_eq!(memory.peak_kib, 160_000);
        assert_eq!(memory.rss_end_kib, 150_000);
        assert_eq!(memory.kib_per_peering, Some(150.0));
        assert_eq!(DaemonMemory::new(1, before, end, 0).kib_per_peering, None);
        // A daemon that shrank reports no growth rather than wrapping.
        let shrunk = Resident {
            now_kib: 5_000,
            peak_kib: 9_000,
        };
        assert_eq!(
            DaemonMemory::new(1, before, shrunk, 10).kib_per_peering,
            Some(0.0)
        );
    }

    #[test]
    fn json_has_the_peering_counts_at_the_top_level() {
        let mut counts = PeeringCounts {
            attempted: 3,
            accepted: 3,
            alive_at_end: 3,
            largest_gap_ms: 3_010,
            ..PeeringCounts::default()
        };
        counts.refuse("closed".to_owned());
        let json = serde_json::to_value(report(counts)).expect("serialises");
        assert_eq!(json["accepted"], 3);
        assert_eq!(json["alive_at_end"], 3);
        assert_eq!(json["largest_gap_ms"], 3_010);
        assert_eq!(json["refused_by_kind"]["closed"], 1);
        assert!(json["daemon_memory"].is_null());
    }

    #[test]
    fn text_gives_gaps_only_for_live_peerings() {
        let alive = report(PeeringCounts {
            alive_at_end: 10,
            largest_gap_ms: 5_000,
            gaps_over_limit: 2,
            ..PeeringCounts::default()
        });
        assert!(alive
            .to_text()
            .contains("largest frame gap      5000 ms; 2 peerings at or over 3500 ms"));
        let none = report(PeeringCounts::default());
        assert!(!none.to_text().contains("largest frame gap"));
    }
}
