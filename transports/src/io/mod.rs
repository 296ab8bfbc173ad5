//! I/O drivers: the threads that move bytes between the sockets of
//! established peerings and the forwarding plane's
//! [`Worker`](pinecone_engine::forward::Worker)s.
//!
//! A driver owns one worker and the non-blocking streams of the peerings
//! attached to it. It takes commands (attach, detach, stop) from the
//! control thread and reports back when a peering ends.

mod affinity;
mod clock;
mod command;
mod connection;
mod core;
mod epoll;
mod handle;
mod sendmsg;
#[cfg(feature = "io-uring")]
mod uring;
#[cfg(not(feature = "io-uring"))]
mod without_uring;

pub(crate) use affinity::{pin_current, CorePlan};
pub(crate) use clock::now;
pub(crate) use command::{CloseReason, DriverCommand, DriverReport, PeeringId};
pub(crate) use epoll::spawn_epoll;
pub(crate) use handle::{DriverHandle, DriverHooks};
#[cfg(feature = "io-uring")]
pub(crate) use uring::{spawn_uring, uring_available};
#[cfg(not(feature = "io-uring"))]
pub(crate) use without_uring::{spawn_uring, uring_available};
