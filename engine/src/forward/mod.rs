//! The forwarding plane: what per-core worker threads run to move traffic
//! frames between peerings. It does no I/O and starts no threads.
//!
//! ```text
//!            I/O driver thread (one per worker)         control thread
//!  socket ─► Worker::read_buffer ─► Worker::process ─► Fabric::poll_control
//!                                      │   │  │              (Router)
//!         routing table snapshot ──────┘   │  └─► LocalDelivery queue
//!         (Fabric::publish_table)          ▼
//!            own peering's output lanes ◄──┴──► batch to another worker
//!  socket ◄─ Worker::output (protocol lane first, then traffic)
//!                          ▲
//!            Fabric::send_protocol (frames the Router transmits)
//! ```
//!
//! * A [`Fabric`] is shared by every thread: the routing table the control
//!   plane publishes ([`Fabric::publish_table`]), the [`PortMap`] telling
//!   which worker and slot has each port (a worker publishes a peering's
//!   port with the [`PortLease`] the control plane took for it, so a
//!   peering closed before it was attached never takes the port back from
//!   the next), and the bounded queues between
//!   threads: per worker, batches of traffic from other workers, protocol
//!   frames from the control plane and frames the local application sends
//!   ([`Fabric::send_local`]); received protocol frames for the control
//!   plane, bounded in frames and in bytes per peering and in total (a
//!   [`ControlFrame`]'s bytes count until the control plane drops it);
//!   datagrams for the local application.
//! * A [`Worker`] owns a set of peerings. Per peering: an input buffer the
//!   driver reads into, split into frames in place; an [`OutputChunks`]
//!   view of two output lanes (protocol frames first, traffic bounded in
//!   bytes); [`PeeringCounters`] other threads read (each has one writer,
//!   the owning worker, so counting takes no locked instruction). Input
//!   buffers and traffic lanes are lent only while they hold bytes, from
//!   a few spares per worker ([`BufferCounts`]), so an idle peering costs
//!   a few hundred bytes, not half a megabyte.
//!
//! The per-frame path takes no lock: the table and port map are loaded
//! once per [`Worker::process`] call, each frame is parsed in the input
//! buffer, routed (a worker remembers the table's answers for SNEK-routed
//! flows until the table changes or the path entry an answer follows
//! stops serving it) and written once,
//! straight into its destination's output lane or into the batch for the
//! worker that owns the destination. A transit frame that keeps its layout
//! (every hop after the first, for SNEK traffic) is copied with its hop
//! limit byte changed; one that becomes SNEK routed here is written
//! straight from the received view. Neither allocates. Each peering also
//! remembers the head (every byte before the payload) of the last traffic
//! frame it forwarded and what it became: the next frame with the same
//! head, the usual case within a flow, skips parsing and routing. The
//! control thread is woken only when a worker queued something for it,
//! never for traffic alone. Every queue is bounded; each bound in
//! [`ForwardConfig`] says what happens when it is reached.

mod batch;
mod buffer_pool;
mod config;
mod control_ledger;
mod counters;
mod doorbell;
mod error;
mod fabric;
mod flow_memo;
mod input;
mod messages;
mod output;
mod plane_stats;
mod port_map;
mod route_cache;
mod slot;
mod switch;
mod worker;

pub use buffer_pool::BufferCounts;
pub use config::ForwardConfig;
pub use counters::{DropCause, DropCounts, PeeringCounters, PeeringStats, QueueDepth};
pub use doorbell::Doorbell;
pub use error::{LocalSendError, PeeringError, ProtocolSendError};
pub use fabric::Fabric;
pub use messages::{ControlFrame, LocalDelivery};
pub use output::OutputChunks;
pub use plane_stats::PlaneStats;
pub use port_map::{Location, PortLease, PortMap, SlotId};
pub use worker::{BrokenPeering, Worker};
