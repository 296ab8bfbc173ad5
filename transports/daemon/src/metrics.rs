//! The node's stats as Prometheus metrics (text format 0.0.4), rendered
//! with the `prometheus-client` crate from one [`NodeStats`] snapshot per
//! scrape. No label names a peer key: everything is summed over peerings.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use pinecone_engine::forward::DropCause;
use pinecone_transports::NodeStats;

/// The `Content-Type` of what [`render`] produces.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// `stats` in the Prometheus text format.
pub fn render(stats: NodeStats) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(stats)));
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry)?;
    Ok(text)
}

/// One scrape's stats, encoded when the registry is.
#[derive(Debug)]
struct Snapshot(NodeStats);

impl Collector for Snapshot {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut out = Metrics(encoder);
        let stats = &self.0;
        peerings(&mut out, stats)?;
        traffic(&mut out, stats)?;
        drops(&mut out, stats)?;
        protocol(&mut out, stats)?;
        admission(&mut out, stats)?;
        tree(&mut out, stats)?;
        queues(&mut out, stats)?;
        sessions(&mut out, stats)
    }
}

/// Writes metric families; each family's samples are given as label
/// values with their numbers.
struct Metrics<'a>(DescriptorEncoder<'a>);

impl Metrics<'_> {
    /// A counter without labels. `name` has no `_total`: the encoder adds
    /// it.
    fn counter(&mut self, name: &str, help: &str, value: u64) -> std::fmt::Result {
        let metric = self
            .0
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        ConstCounter::new(value).encode(metric)
    }

    /// A gauge without labels.
    fn gauge(&mut self, name: &str, help: &str, value: u64) -> std::fmt::Result {
        let metric = self
            .0
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        ConstGauge::new(clamp(value)).encode(metric)
    }

    /// A family of counters, one per set of label values.
    fn counters<const N: usize>(
        &mut self,
        name: &str,
        help: &str,
        labels: [&str; N],
        samples: impl IntoIterator<Item = ([&'static str; N], u64)>,
    ) -> std::fmt::Result {
        let mut metric = self
            .0
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (values, value) in samples {
            let set: [(&str, &str); N] = std::array::from_fn(|i| (labels[i], values[i]));
            ConstCounter::new(value).encode(metric.encode_family(&set)?)?;
        }
        Ok(())
    }

    /// A family of gauges, one per value of `label`.
    fn gauges(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (&'static str, u64)>,
    ) -> std::fmt::Result {
        let mut metric = self
            .0
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (value_label, value) in samples {
            ConstGauge::new(clamp(value)).encode(metric.encode_family(&[(label, value_label)])?)?;
        }
        Ok(())
    }
}

/// Gauges are signed; none of ours comes near the limit.
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn peerings(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    out.gauges(
        "pinecone_peerings",
        "Peerings now, by peer type (medium).",
        "type",
        stats.peerings.by_type(),
    )
}

fn traffic(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    let plane = &stats.forwarding;
    out.counter(
        "pinecone_forwarded_frames",
        "Transit traffic frames: received on one peering and queued on another.",
        plane.forwarded_frames,
    )?;
    out.counter(
        "pinecone_forwarded_bytes",
        "Bytes of transit traffic frames.",
        plane.forwarded_bytes,
    )?;
    out.counter(
        "pinecone_local_sent_frames",
        "Traffic frames this node's application sent, queued on a peering.",
        plane.local_frames_out,
    )?;
    out.counter(
        "pinecone_received_frames",
        "Frames received on every peering, traffic and protocol.",
        plane.frames_in,
    )?;
    out.counter(
        "pinecone_received_bytes",
        "Bytes of the frames received on every peering.",
        plane.bytes_in,
    )?;
    out.counter(
        "pinecone_written_bytes",
        "Bytes written to every peering.",
        plane.bytes_written,
    )
}

fn drops(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    let router = &stats.router;
    let forwarding = DropCause::ALL.iter().map(|&cause| {
        (
            ["forwarding", cause.label()],
            stats.forwarding.drops.get(cause),
        )
    });
    let control = [
        ("unroutable", router.unroutable),
        ("loop", router.loops),
        ("watermark", router.watermark_drops),
        ("hop_limit", router.hop_limit_drops),
        ("too_large", router.oversized),
        ("unknown_frame", router.unknown_frames),
        ("bootstrap", router.bootstraps_dropped),
        ("broadcast", router.broadcasts_dropped),
        ("event_queue_full", router.events_dropped),
        ("delivery_full", router.deliveries_dropped),
    ]
    .map(|(reason, n)| (["control", reason], n));
    out.counters(
        "pinecone_dropped_frames",
        "Frames dropped, by the plane that dropped them and why.",
        ["plane", "reason"],
        forwarding.chain(control),
    )?;
    out.counter(
        "pinecone_snek_paths_refused",
        "Bootstraps for new keys refused because the SNEK path table was full.",
        router.paths_refused,
    )
}

fn protocol(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    let router = &stats.router;
    out.counters(
        "pinecone_protocol_frames_received",
        "Frames the control plane received, by frame type.",
        ["type"],
        router.frames_received.by_type().map(|(t, n)| ([t], n)),
    )?;
    out.counters(
        "pinecone_protocol_frames_sent",
        "Frames the control plane sent, by frame type.",
        ["type"],
        router.frames_sent.by_type().map(|(t, n)| ([t], n)),
    )?;
    let signatures = router.signatures.by_kind();
    out.counters(
        "pinecone_signature_checks",
        "Signatures checked, by what carried them.",
        ["kind"],
        signatures.map(|(kind, checks, _)| ([kind], checks)),
    )?;
    out.counters(
        "pinecone_signature_failures",
        "Signatures that did not verify (the sending peering is cut off).",
        ["kind"],
        signatures.map(|(kind, _, failures)| ([kind], failures)),
    )
}

fn admission(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    out.counter(
        "pinecone_handshakes_accepted",
        "Peerings taken in after their handshake, static peers included.",
        stats.peerings_accepted,
    )?;
    let connections = &stats.connections;
    let before = [
        ("denied", connections.denied),
        ("source_busy", connections.source_busy),
        ("all_busy", connections.all_busy),
        ("peer_limit", connections.peer_limit),
    ]
    .map(|(reason, n)| (["connection", reason], n));
    let during = stats
        .handshakes
        .failures()
        .map(|(reason, n)| (["handshake", reason], n));
    let refusals = &stats.peerings_refused;
    let after = [
        ("max_peers", refusals.total),
        ("max_peers_per_source", refusals.source),
        ("max_peers_per_key", refusals.key),
    ]
    .map(|(reason, n)| (["limits", reason], n));
    out.counters(
        "pinecone_handshakes_refused",
        "Connections and handshakes refused: at accept (connection), in the handshake, or at the peering limits after it.",
        ["stage", "reason"],
        before.into_iter().chain(during).chain(after),
    )?;
    out.gauge(
        "pinecone_connections_in_setup",
        "Inbound connections being set up now (HTTP upgrade and handshake).",
        connections.in_flight as u64,
    )
}

fn tree(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    out.counter(
        "pinecone_tree_root_changes",
        "Times the root key this node follows changed.",
        stats.router.root_changes,
    )?;
    out.counter(
        "pinecone_tree_parent_changes",
        "Times this node's tree parent changed (becoming a root included).",
        stats.router.parent_changes,
    )?;
    out.gauge(
        "pinecone_tree_is_root",
        "1 when this node roots its own tree (it has no parent).",
        u64::from(stats.tree.is_root),
    )?;
    out.gauge(
        "pinecone_tree_depth",
        "This node's distance from the root (the length of its coordinates).",
        stats.tree.depth,
    )?;
    out.gauge(
        "pinecone_snek_paths",
        "SNEK path entries held.",
        stats.snek_paths,
    )
}

fn queues(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    let plane = &stats.forwarding;
    out.gauges(
        "pinecone_queue_frames",
        "Frames waiting now: to be written on the peerings (protocol_out, traffic_out), for the control plane (control_in, router_backlog), for the application (deliveries).",
        "queue",
        [
            ("protocol_out", plane.protocol_queue.frames),
            ("traffic_out", plane.traffic_queue.frames),
            ("control_in", plane.control_queue_frames),
            ("router_backlog", stats.router_backlog_frames),
            ("deliveries", plane.deliveries_queued),
        ],
    )?;
    out.gauges(
        "pinecone_queue_bytes",
        "Bytes waiting now: to be written on the peerings (protocol_out, traffic_out), and received protocol frames held for the control plane (control_in).",
        "queue",
        [
            ("protocol_out", plane.protocol_queue.bytes),
            ("traffic_out", plane.traffic_queue.bytes),
            ("control_in", plane.control_queue_bytes),
        ],
    )
}

fn sessions(out: &mut Metrics<'_>, stats: &NodeStats) -> std::fmt::Result {
    out.gauge(
        "pinecone_sessions",
        "End-to-end (QUIC) sessions established now.",
        stats.sessions.established,
    )?;
    out.counters(
        "pinecone_session_events",
        "What the session endpoint refused and dropped: incoming attempts refused at its limits (refused_busy), answered with a Retry (retries), whose handshake failed (failed_handshakes); dials that failed (failed_dials); sessions replaced by a newer one (replaced); streams refused (refused_streams); datagrams dropped at its full queue (datagrams_dropped).",
        ["event"],
        stats.sessions.events().map(|(event, n)| ([event], n)),
    )
}
