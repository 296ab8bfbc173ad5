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
//!   [`pinecone_node_recv`], [`pinecone_conduit_read`] and
//!   [`pinecone_conduit_wait_up`] also answer -2 when they timed out. A function returning a pointer answers NULL on
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
//! * The log callback ([`pinecone_set_log_callback`]) is process-wide;
//!   everything else is per node.
//! * End-to-end session streams (`pinecone_node_session_dial`,
//!   `pinecone_node_session_accept`) are file descriptors the caller owns:
//!   see the `sessions` module for what reading, writing, `shutdown` and
//!   `close` do on them.

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
mod introspection;
mod lifecycle;
mod log;
mod multicast;
mod peer_types;
mod peerings;
mod sessions;
mod static_peers;
mod stats;
mod switches;

pub use attach::{pinecone_node_attach_fd, pinecone_node_attach_fd_uri};
pub use conduit::{
    pinecone_conduit_close, pinecone_conduit_free, pinecone_conduit_read, pinecone_conduit_wait_up,
    pinecone_conduit_write, pinecone_node_conduit_new, pinecone_node_conduit_new_uri,
    PineconeConduit,
};
pub use datagrams::{
    pinecone_node_datagram_fd, pinecone_node_recv, pinecone_node_send, PINECONE_MAX_FRAME_SIZE,
    PINECONE_TIMED_OUT,
};
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
    PINECONE_EVENT_SESSION_CLOSED, PINECONE_EVENT_SESSION_OPENED,
};
pub use handle::PineconeNode;
pub use introspection::{pinecone_node_coords, pinecone_node_peers_json, pinecone_node_state_json};
pub use lifecycle::{
    pinecone_node_free, pinecone_node_new, pinecone_node_public_key, pinecone_node_shutdown,
    pinecone_version,
};
pub use log::{
    pinecone_set_log_callback, PineconeLogFn, PINECONE_LOG_DEBUG, PINECONE_LOG_ERROR,
    PINECONE_LOG_INFO, PINECONE_LOG_OFF, PINECONE_LOG_TRACE, PINECONE_LOG_WARN,
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
    pinecone_node_peer_count, pinecone_node_peer_count_by_type, PINECONE_PEER_ANY,
};
pub use sessions::{
    pinecone_node_session_accept, pinecone_node_session_count, pinecone_node_session_dial,
    pinecone_node_session_dial_cancel, pinecone_node_sessions_close, pinecone_node_sessions_json,
    pinecone_node_sessions_listen, pinecone_node_sessions_unlisten,
};
pub use static_peers::{pinecone_node_remove_static_peer, pinecone_node_remove_static_peers};
pub use stats::pinecone_node_stats_json;
pub use switches::{pinecone_node_set_hop_limiting, pinecone_node_set_wakeup_broadcasts};
