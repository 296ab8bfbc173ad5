//! The object behind a `pinecone_node *`: the node plus what the C ABI
//! keeps beside it.

use std::sync::Arc;

use pinecone_transports::Node;

use crate::boundary::Failure;
use crate::events::EventHub;
use crate::gate::{self, CallGate, Entered, Gated};
use crate::handshakes::PendingHandshakes;
use crate::held::HeldDatagrams;

/// An opaque node handle (`pinecone_node` in C).
pub struct PineconeNode {
    /// Shared with the threads that attach conduits.
    node: Arc<Node>,
    gate: CallGate,
    held: HeldDatagrams,
    events: EventHub,
    handshakes: Arc<PendingHandshakes>,
}

impl Gated for PineconeNode {
    const SHUT: &'static str = "the node is shut down";

    fn gate(&self) -> &CallGate {
        &self.gate
    }
}

/// One running call on a node handle.
pub(crate) type Call<'a> = Entered<'a, PineconeNode>;

impl PineconeNode {
    /// A handle around a running node.
    pub(crate) fn new(node: Node) -> PineconeNode {
        PineconeNode {
            node: Arc::new(node),
            gate: CallGate::default(),
            held: HeldDatagrams::default(),
            events: EventHub::default(),
            handshakes: Arc::default(),
        }
    }

    /// The node.
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Datagrams a receiver's buffer was too short for.
    pub(crate) fn held(&self) -> &HeldDatagrams {
        &self.held
    }

    /// The event callback.
    pub(crate) fn events(&self) -> &EventHub {
        &self.events
    }

    /// The handshakes of conduits still running.
    pub(crate) fn handshakes(&self) -> &Arc<PendingHandshakes> {
        &self.handshakes
    }

    /// Whether the handle is shut down.
    pub(crate) fn is_closing(&self) -> bool {
        self.gate.is_closing()
    }

    /// Makes every later call fail, removes the event callback (waiting
    /// for one running now), shuts the node down, which wakes every
    /// blocked receiver, and ends the handshakes of conduits. Refused on the node's own event thread, where
    /// waiting for the callback would wait for itself.
    pub(crate) fn shutdown(&self) -> Result<(), Failure> {
        self.events.refuse_on_event_thread()?;
        self.gate.shut();
        self.events.clear();
        self.node.shutdown();
        self.handshakes.end_all();
        Ok(())
    }

    /// Shuts down, then waits until every running call has returned, so
    /// that the handle may be released.
    pub(crate) fn close(&self) -> Result<(), Failure> {
        self.shutdown()?;
        self.gate.wait_idle();
        Ok(())
    }
}

/// Starts a call on the node handle at `pointer`; fails when it is NULL or
/// shut down.
///
/// # Safety
///
/// `pointer` is NULL or came from `pinecone_node_new`, and `free` on it
/// has not returned.
pub(crate) unsafe fn enter<'a>(pointer: *const PineconeNode) -> Result<Call<'a>, Failure> {
    // SAFETY: as promised by the caller.
    unsafe { gate::enter(pointer, "node") }
}
