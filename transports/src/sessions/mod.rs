//! End-to-end sessions: QUIC with TLS 1.3 over the overlay, wire-compatible
//! with the reference's `sessions` package.
//!
//! A node that uses sessions runs one more thread, the session thread. It
//! owns a quinn-proto endpoint (sans-IO: no async runtime), every QUIC
//! connection, and a pump per stream between the QUIC stream and one end
//! of a Unix socket pair whose other end the application holds as a
//! [`SessionStream`] (or, through the C ABI, a file descriptor). It wakes
//! for datagrams from the node, for commands, for socket readiness and
//! for QUIC's timers.
//!
//! ```text
//!  forwarding workers ─► control thread ─► Inlet ─► session thread ─► pumps ⇄ sockets ⇄ application
//!          ▲                                            │
//!          └──────────── QUIC datagrams (one overlay frame each) ◄─┘
//! ```
//!
//! * One QUIC connection per (protocol, remote key), reused for every
//!   stream; each stream is one bidirectional QUIC stream, no preamble.
//!   Duplicates: see [`duplicates`].
//! * Certificates and their checks: see [`certificate`] and [`verify`].
//! * Datagrams of at most [`MAX_QUIC_DATAGRAM`] bytes, no path-MTU
//!   discovery, idle timeout 15 s, no migration, one datagram per
//!   transmit (no segmentation offload).
//! * Remote keys get synthetic `fd00::/8` addresses: see [`addresses`].
//! * Limits: [`SessionConfig`].
//!
//! While sessions run, every datagram addressed to the node goes to the
//! session endpoint (QUIC packets and other datagrams can only be told
//! apart by their content, as with the reference, whose QUIC stack reads
//! the router's packet connection): `Node::recv_timeout` receives nothing.

mod addresses;
mod certificate;
mod config;
mod connections;
mod dials;
mod duplicates;
mod engine;
mod error;
mod handle;
mod pump;
mod stats;
mod stream;
mod tls;
mod verify;

pub use config::{SessionConfig, MAX_QUIC_DATAGRAM};
pub use error::SessionError;
pub use handle::SessionInfo;
pub(crate) use handle::{Inlet, SessionHandle};
pub use stats::SessionStats;
pub use stream::SessionStream;
