//! What programs embedding a node need beyond sending and receiving:
//! closing every peering of a zone or of a medium at once.

use crossbeam_channel::Sender;
use pinecone_engine::control::{Millis, PeerSummary, PeerType};

use super::control::Control;
use super::error::NodeError;
use super::handle::Node;
use super::inbox::Request;

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
        }
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
