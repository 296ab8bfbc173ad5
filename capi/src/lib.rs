//! The C ABI of a Pinecone node.
//!
//! C programs, and Go programs through cgo, embed a node through the
//! functions below and the header `include/pinecone.h` generated from them.
//! A node is an opaque `pinecone_node` handle made by [`pinecone_node_new`]
//! and released by [`pinecone_node_free`]; a conduit (a peering whose bytes
//! the program carries itself) is a `pinecone_conduit` handle made by
//! [`pinecone_node_conduit_new`] and released by [`pinecone_conduit_free`].
//!
//! Conventions every function keeps:
//!
//! * Any function may be called from any thread, at the same time as any
//!   other; a receiver blocked in [`pinecone_node_recv`] never holds up a
//!   sender.
//! * Ending a node never deadlocks on calls blocked in it: shutting it
//!   down wakes them (and an event callback blocked in a call on it)
//!   before it waits for anything. The safe order when other threads use
//!   the node: [`pinecone_node_shutdown`], join those threads (their calls
//!   now fail at once), then [`pinecone_node_free`].
//! * Functions returning `int` answer 0 on success and -1 on failure;
//!   [`pinecone_node_recv`] and [`pinecone_conduit_read`] also answer -2
//!   when they timed out. A function returning a pointer answers NULL on
//!   failure. After a failure, [`pinecone_last_error`] describes it on the
//!   failing thread.
//! * Variable-length answers (the state dump, the peers, the coordinates)
//!   go into the caller's buffer: the function returns how many units
//!   (bytes including the terminating NUL, or numbers) the whole answer
//!   has, and wrote it only when that is no more than the buffer's
//!   capacity; otherwise nothing was written and the caller tries again
//!   with a buffer that large. -1 means failure.
//! * NULL or malformed arguments are failures, never crashes, and no Rust
//!   panic crosses into the caller: it becomes a failure too.
//! * Keys are 32-byte ed25519 public keys; seeds are 32-byte ed25519 seeds.
//! * Media of peerings are the `PINECONE_PEER_*` numbers, as the reference
//!   implementation numbers them.

mod attach;
mod boundary;
mod conduit;
mod datagrams;
mod disconnect;
mod error;
mod event_hub;
mod events;
mod gate;
mod handle;
mod handshakes;
mod held;
mod introspection;
mod lifecycle;
mod multicast;
mod peer_types;
mod peerings;

pub use attach::pinecone_node_attach_fd;
pub use conduit::{
    pinecone_conduit_close, pinecone_conduit_free, pinecone_conduit_read, pinecone_conduit_write,
    pinecone_node_conduit_new, PineconeConduit,
};
pub use datagrams::{pinecone_node_recv, pinecone_node_send, PINECONE_TIMED_OUT};
pub use disconnect::{
    pinecone_node_disconnect_peer_type, pinecone_node_disconnect_port,
    pinecone_node_disconnect_zone,
};
pub use error::pinecone_last_error;
pub use events::{
    pinecone_node_set_event_callback, PineconeEvent, PineconeEventFn,
    PINECONE_EVENT_BROADCAST_RECEIVED, PINECONE_EVENT_DESCENDING_CHANGED,
    PINECONE_EVENT_PARENT_CHANGED, PINECONE_EVENT_PATH_ADDED, PINECONE_EVENT_PATH_REMOVED,
    PINECONE_EVENT_PEER_ADDED, PINECONE_EVENT_PEER_REMOVED, PINECONE_EVENT_ROOT_CHANGED,
};
pub use handle::PineconeNode;
pub use introspection::{pinecone_node_coords, pinecone_node_peers_json, pinecone_node_state_json};
pub use lifecycle::{
    pinecone_node_free, pinecone_node_new, pinecone_node_public_key, pinecone_node_shutdown,
    pinecone_version,
};
pub use multicast::{
    pinecone_node_multicast_set_interfaces, pinecone_node_multicast_start,
    pinecone_node_multicast_stop, PineconeInterface, PINECONE_INTERFACE_LOOPBACK,
    PINECONE_INTERFACE_MULTICAST, PINECONE_INTERFACE_POINT_TO_POINT, PINECONE_INTERFACE_UP,
};
pub use peer_types::{
    PINECONE_PEER_BLUETOOTH, PINECONE_PEER_BONJOUR, PINECONE_PEER_MULTICAST, PINECONE_PEER_PIPE,
    PINECONE_PEER_REMOTE,
};
pub use peerings::{
    pinecone_node_connect, pinecone_node_listen_tcp, pinecone_node_listen_ws,
    pinecone_node_peer_count,
};
