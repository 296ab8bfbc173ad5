//! The object behind a `pinecone_node *`: the node plus what the C ABI
//! keeps beside it.

use std::sync::{Arc, Mutex, PoisonError};

use pinecone_transports::Node;

use crate::boundary::Failure;
use crate::event_hub::EventHub;
use crate::gate::{self, CallGate, Entered, Gated};
use crate::handshakes::PendingHandshakes;

/// An opaque node handle (`pinecone_node` in C).
pub struct PineconeNode {
    /// Shared with the threads that attach conduits.
    node: Arc<Node>,
    gate: CallGate,
    events: EventHub,
    handshakes: Arc<PendingHandshakes>,
    /// Held by a shutdown from start to end.
    stopping: Mutex<()>,
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
            events: EventHub::default(),
            handshakes: Arc::default(),
            stopping: Mutex::new(()),
        }
    }

    /// The node.
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
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

    /// Shuts down, in the order that lets every blocked call return:
    /// makes every later call fail and stops calling the event callback,
    /// ends the handshakes still running (waking conduit readers and
    /// attaching calls), stops the node (waking every blocked receiver and
    /// ending every peering, so conduit readers see the end), and only then
    /// waits for a running callback, which no call on the node holds up
    /// any more, and joins the event thread. Shutdowns on several threads
    /// run one at a time, so each returns with the node stopped. Refused
    /// on the node's own event thread, where waiting for the callback would
    /// wait for itself.
    pub(crate) fn shutdown(&self) -> Result<(), Failure> {
        self.events.refuse_on_event_thread()?;
        let _one_at_a_time = self.stopping.lock().unwrap_or_else(PoisonError::into_inner);
        self.gate.shut();
        self.events.close();
        self.handshakes.end_all();
        self.node.shutdown();
        self.events.stop();
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

/// Starts a call on the node handle at `pointer` also when it is shut
/// down, for shutting it down; fails only when it is NULL.
///
/// # Safety
///
/// As for [`enter`].
pub(crate) unsafe fn enter_to_shut_down<'a>(
    pointer: *const PineconeNode,
) -> Result<Call<'a>, Failure> {
    // SAFETY: as promised by the caller.
    unsafe { gate::enter_even_if_shut(pointer, "node") }
}
