//! WebSocket peerings, carried as the reference does: each binary message
//! carries stream bytes, and the receiving side concatenates the payloads.
//!
//! An accepted WebSocket keeps no thread: the handshake runs over a
//! [`WebSocketStream`] (the TCP socket plus the client's framing state),
//! which is then handed whole to an I/O driver that decodes the client's
//! frames and frames what it writes itself ([`codec`]). A WebSocket we
//! dial (`ws://`, `wss://`, a static peer the operator configured) is
//! handed to a bridge thread that pumps bytes between it and one end of a
//! Unix socket pair, as TLS and the client's masking are left to
//! `tungstenite`; the other end is the peering's stream.

mod accepted;
mod bridge;
mod client;
pub(crate) mod codec;
mod http;
mod server;
mod socket;

pub use accepted::WebSocketStream;
pub(crate) use bridge::bridge;
pub(crate) use client::upgrade_client;
pub(crate) use server::serve_connection;

use tungstenite::protocol::WebSocketConfig;

/// Stream bytes read from the local end are sent in binary messages of at
/// most this many bytes.
const CHUNK_LEN: usize = 64 * 1024;

/// The largest message or frame accepted from a peer. The reference sends
/// one frame (at most 64 KiB) per message; anything up to this is taken.
const MAX_MESSAGE_LEN: usize = 1024 * 1024;

/// WebSocket settings for every peering. Messages are buffered whole until
/// flushed (the write buffer outgrows a chunk and its frame header), and the
/// incoming message size is bounded.
fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(CHUNK_LEN)
        .write_buffer_size(2 * CHUNK_LEN)
        .max_write_buffer_size(4 * CHUNK_LEN)
        .max_message_size(Some(MAX_MESSAGE_LEN))
        .max_frame_size(Some(MAX_MESSAGE_LEN))
}
