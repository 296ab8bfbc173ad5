//! Describes undelivered probes on stderr: every hop each one took, how it
//! was routed there, and what each router on the way knew about the
//! destination, to find out which forwarding rule failed.

use std::collections::HashMap;

use pinecone_engine::control::{Millis, Router};
use pinecone_engine::wire::PublicKey;
use pinecone_netkit::network::EPOCH_MS;

use crate::probes::ProbeRound;
use crate::simulation::Simulation;
use crate::topology::NodeId;

/// Prints up to `sim.settings.explain` undelivered probes of `round`.
pub fn undelivered(sim: &Simulation<'_>, round: &ProbeRound<'_>, shortest: &[u32]) {
    let names: HashMap<String, NodeId> = sim
        .keys
        .iter()
        .enumerate()
        .map(|(node, key)| (key.to_string(), node as NodeId))
        .collect();
    let now = Millis(EPOCH_MS + sim.network.now());
    for index in round.undelivered().take(sim.settings.explain) {
        let (source, dest) = round.pairs[index];
        let trail = round.trail(index).unwrap_or_default();
        eprintln!(
            "[explain] probe {} -> {} (shortest {} hops) lost after {} hops; keys near the destination: {}",
            describe(sim, source),
            describe(sim, dest),
            shortest[index],
            trail.len(),
            key_neighbourhood(&sim.keys, dest)
        );
        let dest_key = sim.keys[dest as usize];
        let dest_router = sim.network.router(dest);
        eprintln!(
            "[explain]   destination coords {:?}, root {:?}/{}",
            dest_router.coords().ports(),
            dest_router.root().0,
            dest_router.root().1
        );
        let mut at = source;
        let mut arrived = "sent".to_owned();
        let mut watermark_key = None;
        for hop in trail {
            report_node(sim, &names, at, &dest_key, watermark_key, &arrived, now);
            (arrived, watermark_key) = match hop.watermark {
                Some(w) if !hop.tree_routed => (
                    format!("SNEK, watermark {:?}/{}", w.key, w.seq),
                    Some(w.key),
                ),
                _ => ("tree routed".to_owned(), None),
            };
            at = hop.to;
        }
        report_node(sim, &names, at, &dest_key, watermark_key, &arrived, now);
        eprintln!(
            "[explain]   bootstrap of the destination: {}",
            bootstrap_route(sim, &names, dest, now)
        );
    }
}

/// Where `node`'s latest bootstrap went: its first hop is the neighbour
/// holding the newest path entry for it that came straight from it; from
/// there each entry names the next hop.
fn bootstrap_route(
    sim: &Simulation<'_>,
    names: &HashMap<String, NodeId>,
    node: NodeId,
    now: Millis,
) -> String {
    let key = sim.keys[node as usize].to_string();
    let entry_at = |at: NodeId| {
        let dump = sim.network.router(at).state_dump(now);
        dump.snek.paths.into_iter().find(|p| p.public_key == key)
    };
    let from = key.clone();
    let first = sim
        .topology
        .neighbours(node)
        .iter()
        .filter_map(|&peer| Some((peer, entry_at(peer)?)))
        .filter(|(_, entry)| entry.source.public_key == from)
        .max_by_key(|(_, entry)| entry.watermark.sequence);
    let mut route = vec![describe(sim, node)];
    let mut next = first;
    for _ in 0..sim.topology.node_count() {
        let Some((at, entry)) = next else {
            route.push("(no entry)".to_owned());
            break;
        };
        route.push(format!(
            "{} seq {}",
            describe(sim, at),
            entry.watermark.sequence
        ));
        let Some(hop) = entry
            .destination
            .and_then(|d| names.get(&d.public_key).copied())
        else {
            route.push("(ended)".to_owned());
            break;
        };
        next = entry_at(hop).map(|entry| (hop, entry));
    }
    route.join(" -> ")
}

/// One line per node on a probe's way: its tree position and its path
/// entries for the destination and for the key the frame's watermark
/// names.
fn report_node(
    sim: &Simulation<'_>,
    names: &HashMap<String, NodeId>,
    node: NodeId,
    dest: &PublicKey,
    watermark_key: Option<PublicKey>,
    arrived: &str,
    now: Millis,
) {
    let router: &Router = sim.network.router(node);
    let dump = router.state_dump(now);
    let name_of = |hex: &str| {
        names
            .get(hex)
            .map_or_else(|| "?".to_owned(), |&n| describe(sim, n))
    };
    let entry_for = |key: &PublicKey| {
        let hex = key.to_string();
        dump.snek
            .paths
            .iter()
            .find(|path| path.public_key == hex)
            .map_or_else(
                || format!("no path entry for {key:?}"),
                |path| {
                    format!(
                        "path entry for {key:?} from {} to {} seq {} seen {}",
                        name_of(&path.source.public_key),
                        path.destination
                            .as_ref()
                            .map_or_else(|| "here".to_owned(), |d| name_of(&d.public_key)),
                        path.watermark.sequence,
                        path.last_seen
                    )
                },
            )
    };
    let mut entries = vec![entry_for(dest)];
    if let Some(key) = watermark_key.filter(|key| key != dest) {
        entries.push(entry_for(&key));
    }
    let descending = dump
        .snek
        .descending
        .as_ref()
        .map_or_else(|| "none".to_owned(), |d| name_of(&d.public_key));
    eprintln!(
        "[explain]   {} ({arrived}): coords {}, {} peers, parent {}, descending {}; {}",
        describe(sim, node),
        dump.coords,
        dump.peers.len(),
        dump.parent
            .as_ref()
            .map_or_else(|| "none".to_owned(), |p| name_of(&p.public_key)),
        descending,
        entries.join("; ")
    );
}

/// A node's name and the start of its key.
fn describe(sim: &Simulation<'_>, node: NodeId) -> String {
    format!("{}({:?})", sim.topology.name(node), sim.keys[node as usize])
}

/// The keys just below and above `node`'s on the SNEK line.
fn key_neighbourhood(keys: &[PublicKey], node: NodeId) -> String {
    let own = keys[node as usize];
    let below = keys.iter().filter(|k| **k < own).max();
    let above = keys.iter().filter(|k| **k > own).min();
    format!("below {below:?}, above {above:?}")
}
