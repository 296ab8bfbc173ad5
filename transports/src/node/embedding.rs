//! What programs embedding a node need beyond sending and receiving:
//! closing every peering of a zone or of a medium at once, removing static
//! peers, counting peers by medium, and the reference's runtime switches
//! (hop limiting, the periodic wakeup broadcast).

use std::collections::BTreeSet;

use crossbeam_channel::Sender;
use pinecone_engine::control::{Millis, PeerSummary, PeerType};

use super::control::Control;
use super::error::NodeError;
use super::handle::Node;
use super::inbox::Request;
use crate::uri::PeerUri;

/// Which peerings a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerFilter {
    /// The peerings in this zone.
    Zone(String),
    /// The peerings over this medium.
    PeerType(PeerType),
}

impl PeerFilter {
    /// Whether `peer` is one of them.
    fn matches(&self, peer: &PeerSummary) -> bool {
        match self {
            PeerFilter::Zone(zone) => peer.zone == *zone,
            PeerFilter::PeerType(peer_type) => peer.peer_type == *peer_type,
        }
    }
}

/// A request of an embedding program, answered by the control thread.
#[derive(Debug)]
pub(crate) enum EmbeddingRequest {
    /// Close every peering the filter matches; answers how many.
    DisconnectWhere {
        filter: PeerFilter,
        reply: Sender<usize>,
    },
    /// Stop keeping a static peer (or, without a URI, every one)
    /// connected and close its peerings; answers how many were removed.
    RemoveStaticPeers {
        uri: Option<PeerUri>,
        reply: Sender<usize>,
    },
    /// Turn hop limiting on or off.
    SetHopLimiting { enabled: bool, reply: Sender<()> },
    /// Turn the periodic wakeup broadcast on or off.
    SetWakeupBroadcasts { enabled: bool, reply: Sender<()> },
}

impl Node {
    /// Closes every peering in `zone` (for example `"static"` or a
    /// network interface's name); returns how many were closed. Static
    /// peers among them are redialled as usual.
    pub fn disconnect_zone(&self, zone: &str) -> Result<usize, NodeError> {
        let filter = PeerFilter::Zone(zone.to_owned());
        self.ask(|reply| Request::Embedding(EmbeddingRequest::DisconnectWhere { filter, reply }))
    }

    /// Closes every peering over `peer_type`; returns how many were
    /// closed. Static peers among them are redialled as usual.
    pub fn disconnect_peer_type(&self, peer_type: PeerType) -> Result<usize, NodeError> {
        let filter = PeerFilter::PeerType(peer_type);
        self.ask(|reply| Request::Embedding(EmbeddingRequest::DisconnectWhere { filter, reply }))
    }

    /// Stops keeping `uri` connected as a static peer (the URI given to
    /// [`connect`](Self::connect), in any spelling of the same address)
    /// and closes its peerings; returns how many static peers were
    /// removed (1, or 0 when `uri` was not one). A dial under way is
    /// abandoned: the peering it may still bring up is closed at once.
    pub fn remove_static_peer(&self, uri: &str) -> Result<usize, NodeError> {
        let uri = Some(uri.parse::<PeerUri>()?);
        self.ask(|reply| Request::Embedding(EmbeddingRequest::RemoveStaticPeers { uri, reply }))
    }

    /// Stops keeping every static peer connected and closes their
    /// peerings (what Dendrite does before it sets new static peers);
    /// returns how many static peers were removed.
    pub fn remove_static_peers(&self) -> Result<usize, NodeError> {
        self.ask(|reply| {
            Request::Embedding(EmbeddingRequest::RemoveStaticPeers { uri: None, reply })
        })
    }

    /// How many distinct peer keys the node has peerings with over
    /// `peer_type`, or over any medium when it is `None`. Several peerings
    /// with one key count once, as the reference's `PeerCount` counts.
    pub fn peer_count_by_type(&self, peer_type: Option<PeerType>) -> Result<usize, NodeError> {
        let keys: BTreeSet<_> = self
            .peers()?
            .into_iter()
            .filter(|peer| peer_type.is_none_or(|wanted| peer.peer_type == wanted))
            .map(|peer| peer.key)
            .collect();
        Ok(keys.len())
    }

    /// Turns hop limiting of the traffic this node forwards on or off
    /// (the reference's `EnableHopLimiting`/`DisableHopLimiting`): when
    /// on, each forwarded traffic frame's hop limit is decremented and the
    /// frame dropped at 1. Off by default, as in the reference. Returns
    /// once the forwarding workers use the new setting.
    pub fn set_hop_limiting(&self, enabled: bool) -> Result<(), NodeError> {
        self.ask(|reply| Request::Embedding(EmbeddingRequest::SetHopLimiting { enabled, reply }))
    }

    /// Turns the periodic wakeup broadcast on or off (the reference's
    /// `EnableWakeupBroadcasts`/`DisableWakeupBroadcasts`). On by default;
    /// turning it on floods one at once and then every 60 s. As in the
    /// reference, a peer's first announcement is still answered with a
    /// broadcast while it is off, and received broadcasts are still
    /// handled and passed on.
    pub fn set_wakeup_broadcasts(&self, enabled: bool) -> Result<(), NodeError> {
        self.ask(|reply| {
            Request::Embedding(EmbeddingRequest::SetWakeupBroadcasts { enabled, reply })
        })
    }
}

impl Control {
    /// Answers a request of an embedding program.
    pub(super) fn answer_embedding(&mut self, request: EmbeddingRequest, now: Millis) {
        match request {
            EmbeddingRequest::DisconnectWhere { filter, reply } => {
                let ports: Vec<_> = self
                    .router
                    .peers()
                    .into_iter()
                    .filter(|peer| filter.matches(peer))
                    .map(|peer| peer.port)
                    .collect();
                for &port in &ports {
                    if let Some(id) = self.peerings.id_of(port) {
                        self.close(id, "closed by the application");
                    }
                    self.router.remove_peer(port, now);
                }
                let _ = reply.send(ports.len());
            }
            EmbeddingRequest::RemoveStaticPeers { uri, reply } => {
                let removed = self.remove_static_peers(uri, now);
                let _ = reply.send(removed);
            }
            EmbeddingRequest::SetHopLimiting { enabled, reply } => {
                self.router.set_hop_limiting(enabled);
                // Publishes the table before the answer, so that the
                // workers use the setting by the time the caller goes on.
                self.carry_out();
                let _ = reply.send(());
            }
            EmbeddingRequest::SetWakeupBroadcasts { enabled, reply } => {
                self.router.set_wakeup_broadcasts(enabled, now);
                self.carry_out();
                let _ = reply.send(());
            }
        }
    }

    /// Stops keeping `uri` (or every static peer) connected and closes the
    /// peerings of the static peers removed; returns how many were.
    fn remove_static_peers(&mut self, uri: Option<PeerUri>, now: Millis) -> usize {
        let Some(static_peers) = &self.static_peers else {
            return 0;
        };
        let removed: Vec<PeerUri> = match uri {
            Some(uri) => {
                if static_peers.remove(&uri.to_string()) {
                    vec![uri]
                } else {
                    Vec::new()
                }
            }
            None => static_peers.clear(),
        };
        let ids = self.peerings.ids_where(|record| {
            record.is_static
                && record
                    .uri
                    .parse::<PeerUri>()
                    .is_ok_and(|uri| removed.contains(&uri))
        });
        for id in ids {
            let port = self.peerings.get_mut(id).map(|record| record.port);
            self.close(id, "static peer removed");
            if let Some(port) = port {
                self.router.remove_peer(port, now);
            }
        }
        removed.len()
    }

    /// Whether `uri` is a static peer still kept connected.
    pub(super) fn is_static_peer(&self, uri: &str) -> bool {
        let (Some(static_peers), Ok(uri)) = (&self.static_peers, uri.parse::<PeerUri>()) else {
            return false;
        };
        static_peers.contains(&uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinecone_engine::wire::PublicKey;

    fn peer(zone: &str, peer_type: PeerType) -> PeerSummary {
        PeerSummary {
            port: 1,
            key: PublicKey([1; 32]),
            peer_type,
            zone: zone.to_owned(),
            uri: String::new(),
            coords: None,
            root: None,
            order: None,
            is_parent: false,
            bytes: Default::default(),
        }
    }

    #[test]
    fn filters_match_by_zone_or_medium() {
        let bluetooth = peer("hci0", PeerType::Bluetooth);
        let remote = peer("static", PeerType::Remote);
        let by_zone = PeerFilter::Zone("hci0".to_owned());
        assert!(by_zone.matches(&bluetooth));
        assert!(!by_zone.matches(&remote));
        let by_type = PeerFilter::PeerType(PeerType::Remote);
        assert!(by_type.matches(&remote));
        assert!(!by_type.matches(&bluetooth));
    }
}
