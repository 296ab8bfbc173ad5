//! A JSON-ready dump of a router's state, with the fields of the
//! reference's manhole endpoint.

use std::collections::BTreeMap;

use serde::Serialize;

use super::announcement::Root;
use super::peers::Port;
use super::table::{NextHop, PathEntry};
use super::time::Millis;
use super::Router;
use crate::wire::{Coords, FrameType, PublicKey};

/// Everything a tool wants to see of one node. Keys are lowercase hex,
/// coordinates are written `[1 2 3]`, times RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateDump {
    /// This node's key.
    pub public_key: String,
    /// This node's coordinates.
    pub coords: String,
    /// The root followed.
    pub root: RootDump,
    /// The parent, or `null` for a root.
    pub parent: Option<PeerRef>,
    /// The peerings by peer key (several peerings to one key are listed in
    /// announcement order).
    pub peers: BTreeMap<String, Vec<PeerDump>>,
    /// SNEK state.
    pub snek: SnekDump,
    /// Fresh cached coordinates by key.
    pub coords_cache: BTreeMap<String, String>,
}

/// A root key and sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootDump {
    /// The root's key.
    pub root_public_key: String,
    /// Its announcement sequence.
    pub root_sequence: u64,
}

/// A peering named by port and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerRef {
    /// The port.
    pub port: Port,
    /// The peer's key.
    pub public_key: String,
}

/// Protocol frames waiting to be written on a peering (the reference's
/// `proto_queue`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueDump {
    /// Frames waiting.
    pub count: u64,
    /// The queue's bound. In bytes: this node bounds its queues in bytes,
    /// where the reference counts frames. 0 when the router is not run by
    /// a forwarding plane (the router's own queue is drained by its
    /// caller).
    pub size: u64,
    /// Bytes waiting (not in the reference's dump).
    pub bytes: u64,
}

/// Traffic frames waiting to be written on a peering (the reference's
/// `traffic_queue`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrafficQueueDump {
    /// Frames waiting.
    pub count: u64,
    /// The queue's bound, in bytes (see [`QueueDump::size`]).
    pub size: u64,
    /// Bytes waiting (not in the reference's dump).
    pub bytes: u64,
    /// Frames waiting per sub-queue, only those with some. This node has
    /// one first-in first-out queue per peering, `"0"`; the reference
    /// hashes flows over 255.
    pub queues: BTreeMap<String, u64>,
    /// Traffic frames offered to the queue, queued and dropped (0 when
    /// the router is not run by a forwarding plane).
    pub packets_total: u64,
    /// Traffic frames dropped because the queue was full (0 likewise).
    pub packets_dropped: u64,
}

impl TrafficQueueDump {
    /// Sets the frames waiting, keeping `queues` in step.
    pub fn set_count(&mut self, count: u64) {
        self.count = count;
        self.queues.clear();
        if count > 0 {
            self.queues.insert("0".to_owned(), count);
        }
    }
}

/// One peering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerDump {
    /// The coordinates we would take under this peer (absent until it
    /// announces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coords: Option<String>,
    /// Its announcement's receive order (absent until it announces).
    #[serde(skip_serializing_if = "is_zero")]
    pub order: u64,
    /// The port.
    pub port: Port,
    /// The peer type number (absent for 0, a pipe).
    #[serde(rename = "type", skip_serializing_if = "is_zero_u8")]
    pub peer_type: u8,
    /// The zone.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub zone: String,
    /// The URI.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// Protocol bytes received.
    pub rx_proto_bytes: u64,
    /// Protocol bytes sent.
    pub tx_proto_bytes: u64,
    /// Traffic bytes received.
    pub rx_traffic_bytes: u64,
    /// Traffic bytes sent.
    pub tx_traffic_bytes: u64,
    /// Protocol frames queued and not yet polled.
    pub proto_queue: QueueDump,
    /// Traffic frames queued and not yet polled.
    pub traffic_queue: TrafficQueueDump,
}

/// SNEK state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnekDump {
    /// The descending node's path entry.
    pub descending: Option<PathDump>,
    /// Every path entry, by key.
    pub paths: Vec<PathDump>,
}

/// A watermark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatermarkDump {
    /// Its key.
    pub public_key: String,
    /// Its sequence.
    pub sequence: u64,
}

/// One SNEK path entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathDump {
    /// The bootstrapping node's key.
    pub public_key: String,
    /// Where its bootstrap came from.
    pub source: PeerRef,
    /// Where its bootstrap went (`null`: it ended here).
    pub destination: Option<PeerRef>,
    /// The entry's watermark.
    pub watermark: WatermarkDump,
    /// When its bootstrap was last seen.
    pub last_seen: String,
    /// The root it was set up under.
    pub root: RootDump,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero_u8(value: &u8) -> bool {
    *value == 0
}

fn hex(key: &PublicKey) -> String {
    key.to_string()
}

fn root_dump(root: &Root) -> RootDump {
    RootDump {
        root_public_key: hex(&root.key),
        root_sequence: root.seq,
    }
}

impl Router {
    fn peer_ref(&self, port: Port) -> PeerRef {
        PeerRef {
            port,
            public_key: self
                .peers
                .get(port)
                .map_or_else(String::new, |p| hex(&p.info.key)),
        }
    }

    fn path_dump(&self, entry: &PathEntry) -> PathDump {
        PathDump {
            public_key: hex(&entry.key),
            source: self.peer_ref(entry.source),
            destination: match entry.destination {
                NextHop::Local => None,
                NextHop::Port(port) => Some(self.peer_ref(port)),
            },
            watermark: WatermarkDump {
                public_key: hex(&entry.key),
                sequence: entry.seq,
            },
            last_seen: rfc3339(entry.last_seen),
            root: root_dump(&entry.root),
        }
    }

    /// The node's state with the same fields as the reference's manhole
    /// JSON; `now` decides which cached coordinates are still fresh.
    pub fn state_dump(&self, now: Millis) -> StateDump {
        let mut peers: BTreeMap<String, Vec<PeerDump>> = BTreeMap::new();
        for (port, peer) in self.peers.iter() {
            let ann = peer.announcement.as_ref();
            let (traffic, proto) = self
                .out
                .queued_for(port)
                .partition::<Vec<_>, _>(|t| t.frame.get(5) == Some(&(FrameType::Traffic as u8)));
            peers
                .entry(hex(&peer.info.key))
                .or_default()
                .push(PeerDump {
                    coords: ann.map(|a| a.coords.to_string()),
                    order: ann.map_or(0, |a| a.order),
                    port,
                    peer_type: peer.info.peer_type as u8,
                    zone: peer.info.zone.clone(),
                    uri: peer.info.uri.clone(),
                    rx_proto_bytes: peer.bytes.rx_proto,
                    tx_proto_bytes: peer.bytes.tx_proto,
                    rx_traffic_bytes: peer.bytes.rx_traffic,
                    tx_traffic_bytes: peer.bytes.tx_traffic,
                    proto_queue: QueueDump {
                        count: proto.len() as u64,
                        bytes: proto.iter().map(|t| t.frame.len() as u64).sum(),
                        ..QueueDump::default()
                    },
                    traffic_queue: {
                        let mut queue = TrafficQueueDump {
                            bytes: traffic.iter().map(|t| t.frame.len() as u64).sum(),
                            ..TrafficQueueDump::default()
                        };
                        queue.set_count(traffic.len() as u64);
                        queue
                    },
                });
        }
        for list in peers.values_mut() {
            list.sort_by_key(|p| p.order);
        }
        StateDump {
            public_key: hex(&self.public_key),
            coords: self.current_coords().to_string(),
            root: root_dump(&self.current_root()),
            parent: self.tree.parent.map(|port| self.peer_ref(port)),
            peers,
            snek: SnekDump {
                descending: self.snek.descending.as_ref().map(|d| self.path_dump(d)),
                paths: self
                    .table
                    .paths()
                    .iter()
                    .map(|e| self.path_dump(e))
                    .collect(),
            },
            coords_cache: self
                .coords_cache
                .fresh(now)
                .map(|(key, coords): (&PublicKey, &Coords)| (hex(key), coords.to_string()))
                .collect(),
        }
    }
}

/// Formats Unix milliseconds as RFC 3339 in UTC, with the fraction trimmed
/// of trailing zeros as Go's `time.RFC3339Nano` does.
fn rfc3339(at: Millis) -> String {
    let secs = at.0 / 1000;
    let millis = at.0 % 1000;
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if millis != 0 {
        let fraction = format!("{millis:03}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days end each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_go() {
        assert_eq!(rfc3339(Millis(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(Millis(1_700_000_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(
            rfc3339(Millis(1_700_000_000_120)),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(rfc3339(Millis(951_782_400_005)), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            rfc3339(Millis(4_107_542_399_999)),
            "2100-02-28T23:59:59.999Z"
        );
    }
}
