//! The io_uring driver's place in a build without the `io-uring` feature:
//! io_uring is reported unavailable, so every node runs the epoll driver
//! (and says so in its log, as on a kernel that refuses io_uring).

use std::io;
use std::sync::Arc;

use core_affinity::CoreId;
use pinecone_engine::forward::Fabric;

use super::handle::{DriverHandle, DriverHooks};

/// Why io_uring is unavailable in this build.
fn not_built() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "built without the io-uring feature",
    )
}

/// Always fails: this build has no io_uring driver.
pub(crate) fn uring_available() -> io::Result<()> {
    Err(not_built())
}

/// Always fails: this build has no io_uring driver. Nodes never call it,
/// as [`uring_available`] fails first.
pub(crate) fn spawn_uring(
    _fabric: &Arc<Fabric>,
    _index: usize,
    _hooks: DriverHooks,
    _core: Option<CoreId>,
) -> io::Result<DriverHandle> {
    Err(not_built())
}
