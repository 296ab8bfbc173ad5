//! Settings of a [`Node`](super::Node).

use std::str::FromStr;

use pinecone_engine::control::RouterConfig;
use pinecone_engine::forward::ForwardConfig;

use super::limits::PeerLimits;
use crate::config::TransportConfig;
use crate::sessions::SessionConfig;

/// Which I/O driver moves the bytes of peerings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoDriver {
    /// io_uring (the default): multishot polls on a ring per worker. When
    /// the kernel does not allow io_uring, or the crate was built without
    /// its `io-uring` feature, the node runs the epoll driver and says so in
    /// its log.
    #[default]
    Uring,
    /// mio over epoll.
    Epoll,
}

impl FromStr for IoDriver {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "uring" | "io_uring" => Ok(IoDriver::Uring),
            "epoll" | "mio" => Ok(IoDriver::Epoll),
            other => Err(format!(
                "unknown I/O driver {other:?} (expected uring or epoll)"
            )),
        }
    }
}

/// Settings of a [`Node`](super::Node).
#[derive(Debug, Clone, Default)]
pub struct NodeConfig {
    /// The protocol state machine's settings.
    pub router: RouterConfig,
    /// The forwarding plane's sizes; `forward.workers` is the number of
    /// forwarding threads (zero means one per core).
    pub forward: ForwardConfig,
    /// Dialling and accepting, including the handshake deadline and the
    /// admission of inbound connections.
    pub transport: TransportConfig,
    /// Limits on established peerings.
    pub limits: PeerLimits,
    /// The I/O driver.
    pub io: IoDriver,
    /// Pin each forwarding thread to a core of its own (worker `i` on the
    /// `i`-th core the process may run on) and the control thread to a core
    /// off worker 0's, the busiest. Only done when there is a core per
    /// worker; off by default, as an application may have its own plans
    /// for its cores (the daemon turns it on).
    pub pin_threads: bool,
    /// The limits of the session endpoint, which starts at the first
    /// session call (`Node::listen_sessions`, `Node::dial_session`…).
    pub sessions: SessionConfig,
}

impl NodeConfig {
    /// The number of forwarding threads to run.
    pub(crate) fn worker_count(&self) -> usize {
        match self.forward.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_parse_by_name() {
        assert_eq!("uring".parse(), Ok(IoDriver::Uring));
        assert_eq!("epoll".parse(), Ok(IoDriver::Epoll));
        assert!("select".parse::<IoDriver>().is_err());
        assert_eq!(IoDriver::default(), IoDriver::Uring);
    }

    #[test]
    fn zero_workers_means_one_per_core() {
        let mut config = NodeConfig::default();
        config.forward.workers = 0;
        assert!(config.worker_count() >= 1);
        config.forward.workers = 3;
        assert_eq!(config.worker_count(), 3);
    }
}
