//! Peer transports for a Pinecone node.
//!
//! Everything that turns a URI or an incoming connection into an established
//! peering: TCP listen and dial, WebSocket (`ws://` and `wss://`) listen and
//! dial, the 104-byte handshake with its deadline, and a manager that keeps
//! static peers connected with exponential backoff.
//!
//! Connection setup is not the hot path, so it runs on ordinary blocking
//! threads, with admission control on inbound connections (a bounded
//! number being set up at once, per source address and in total, and a
//! deny list). What comes out is a [`Peering`]: a stream socket
//! ([`PeerStream`]) plus the peer's verified public key and where the
//! peering came from. An accepted WebSocket stays a TCP socket whose
//! framing the I/O driver speaks; a dialled one is bridged onto one end of
//! a Unix socket pair.
//!
//! * [`Transport`]: our identity and settings; dials, listens, and runs the
//!   handshake on streams connected elsewhere.
//! * [`PeerUri`]: `host:port`, `tcp://host:port`, `ws://…`, `wss://…`.
//! * [`exchange_handshake`]: the handshake over any stream with timeouts.
//! * [`StaticPeers`]: reconnects a set of URIs with [`Backoff`].
//!
//! On top of them runs a whole node: [`Node`] starts a control thread that
//! owns the protocol state machine and one I/O driver thread per forwarding
//! worker (io_uring, or epoll when io_uring is unavailable, not wanted or
//! not built: the io_uring driver is the default-on cargo feature
//! `io-uring`; see [`IoDriver`]), and takes in the peerings all of the
//! above produce. The `pinecone` binary (crate `pinecone-daemon`) is that
//! node as a daemon.
//!
//! Linux only: the drivers use epoll (through mio) and io_uring, and
//! writes use `MSG_NOSIGNAL`.
//!
//! With the cargo feature `bluetooth`, the `bluetooth` module peers with P2P
//! Matrix apps over Bluetooth LE (Linux and BlueZ).
//! End-to-end sessions (QUIC and TLS 1.3 over the overlay, see
//! [`SessionStream`] and `Node::dial_session`) run on a thread of their
//! own inside the node from the first session call on.
//!
//! Unsafe code is denied everywhere but in the io_uring driver, where
//! queuing a request to the kernel requires it, and in the Bluetooth
//! L2CAP socket, where the kernel's socket options and address do.
#![deny(unsafe_code)]

mod admission;
#[cfg(feature = "bluetooth")]
pub mod bluetooth;
mod cidr;
mod config;
mod dial;
mod handshake;
mod handshake_stats;
mod inbound;
mod io;
mod listener;
mod multicast;
mod node;
mod peering;
mod sessions;
mod static_peers;
mod tcp;
mod transport;
mod uri;
mod websocket;

pub use admission::{AdmissionStats, Refusal};
pub use cidr::{Cidr, CidrError};
pub use config::{default_client_tls, TransportConfig};
pub use dial::DialError;
pub use handshake::{
    exchange_handshake, HandshakeFailure, TimeoutStream, DEFAULT_HANDSHAKE_TIMEOUT,
};
pub use handshake_stats::HandshakeStats;
pub use listener::{Listener, LISTEN_BACKLOG};
pub use multicast::{
    parse_address_list, AddressListError, Beacon, BeaconError, MulticastConfig, MulticastStats,
    NetInterface, BEACON_LEN, GROUP_PORT, GROUP_V4, GROUP_V6,
};
pub use node::{
    raise_open_file_limit, Datagram, IoDriver, Node, NodeConfig, NodeError, NodeStats, PeerLimits,
    PeerRefusal, PeerRefusals, PeeringsByType, SessionsStats, TreeStats, RESERVED_DESCRIPTORS,
};
pub use peering::{PeerOrigin, PeerStream, PeerType, Peering};
pub use sessions::{
    SessionConfig, SessionError, SessionInfo, SessionStats, SessionStream, MAX_QUIC_DATAGRAM,
};
pub use static_peers::{Backoff, BackoffPolicy, StaticPeers};
pub use transport::{ManholeFn, PeeringSink, Transport};
pub use uri::{PeerUri, UriError};
pub use websocket::WebSocketStream;
