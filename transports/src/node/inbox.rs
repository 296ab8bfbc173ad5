//! What reaches the control thread: peerings, driver reports, doorbell
//! rings and requests from the [`Node`](super::Node) handle.

use std::sync::Arc;

use crossbeam_channel::Sender;
use pinecone_engine::control::{Event, PeerSummary, Port, SendError};
use pinecone_engine::forward::Doorbell;
use pinecone_engine::wire::{Coords, PublicKey};

use super::embedding::EmbeddingRequest;
use super::limits::{PeerRefusal, PeerRefusals};
use super::stats::NodeStats;
use crate::io::DriverReport;
use crate::peering::Peering;
use crate::sessions::Inlet;
use crate::uri::{PeerUri, UriError};

/// One message for the control thread.
#[derive(Debug)]
pub(crate) enum ControlInput {
    /// A peering whose handshake succeeded, with where to answer whether
    /// it was taken (for one the embedding program attached).
    Peering {
        peering: Peering,
        reply: Option<Sender<Result<(), PeerRefusal>>>,
    },
    /// A driver's report.
    Driver(DriverReport),
    /// The control thread's doorbell rang: a worker may have queued
    /// protocol frames or datagrams.
    Doorbell,
    /// A call from the handle.
    Request(Request),
    /// An event of the session endpoint, for the subscribers.
    SessionEvent(Event),
    /// Stop: close every peering and end the thread.
    Shutdown,
}

/// A call from the [`Node`](super::Node) handle, with where to answer.
#[derive(Debug)]
pub(crate) enum Request {
    /// Send a datagram.
    Send {
        dest: PublicKey,
        payload: Vec<u8>,
        reply: Sender<Result<(), SendError>>,
    },
    /// List the peerings.
    Peers(Sender<Vec<PeerSummary>>),
    /// This node's coordinates.
    Coords(Sender<Coords>),
    /// The state dump as JSON.
    Dump(Sender<String>),
    /// Close the peering on a port; answers whether there was one.
    Disconnect { port: Port, reply: Sender<bool> },
    /// Receive every event from now on.
    Subscribe(Sender<Event>),
    /// Keep a URI connected.
    Connect {
        uri: String,
        reply: Sender<Result<PeerUri, UriError>>,
    },
    /// A request of an embedding program.
    Embedding(EmbeddingRequest),
    /// Peerings refused at the limits so far.
    Refusals(Sender<PeerRefusals>),
    /// The node's stats (what the control thread sees).
    Stats(Sender<NodeStats>),
    /// Hand every datagram for this node to the session endpoint from now
    /// on.
    RouteToSessions(Arc<Inlet>),
}

/// The control thread's doorbell, rung after a worker round that queued
/// something for it: each ring it does not yet answer posts one
/// [`ControlInput::Doorbell`] to `inbox`.
pub(crate) fn control_doorbell(inbox: Sender<ControlInput>) -> Arc<Doorbell> {
    Arc::new(Doorbell::new(move || {
        let _ = inbox.send(ControlInput::Doorbell);
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_once_until_answered() {
        let (inbox, received) = crossbeam_channel::unbounded();
        let doorbell = control_doorbell(inbox);
        doorbell.ring();
        doorbell.ring();
        assert_eq!(received.try_iter().count(), 1);
        doorbell.answer();
        doorbell.ring();
        assert!(matches!(received.try_recv(), Ok(ControlInput::Doorbell)));
        assert!(received.try_recv().is_err());
    }
}
