//! Multicast discovery on a node: starting and stopping it, the host's
//! interface list, its counters.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::error::NodeError;
use super::handle::{peering_sink, Node};
use super::inbox::{ControlInput, Request};
use crate::multicast::{
    Discovery, Hooks, HostInterfaces, MulticastConfig, MulticastStats, NetInterface, PeerLister,
};

/// How long discovery waits for the node's list of peerings.
const PEERS_PATIENCE: Duration = Duration::from_secs(2);

/// A node's discovery, when it runs, and the host's interface list.
#[derive(Default)]
pub(crate) struct MulticastSlot {
    running: Mutex<Option<Discovery>>,
    host: HostInterfaces,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MulticastSlot {
    /// Stops discovery; answers whether it was running.
    pub(crate) fn stop(&self) -> bool {
        let discovery = lock(&self.running).take();
        discovery.is_some()
    }
}

impl Node {
    /// Starts LAN multicast discovery (see the `multicast` module of the
    /// README): beacons on the interfaces `config` allows, dials to the
    /// nodes heard, a listener of its own for the nodes that dial us.
    /// Peerings it makes have type multicast and the interface's name as
    /// zone. Started again, it restarts with the new settings. Returns the
    /// port of its listener.
    pub fn start_multicast(&self, config: MulticastConfig) -> Result<u16, NodeError> {
        let inbox = self.inbox.clone();
        let peers: PeerLister = Arc::new(move || {
            let (reply, answer) = crossbeam_channel::bounded(1);
            inbox
                .send(ControlInput::Request(Request::Peers(reply)))
                .ok()?;
            answer.recv_timeout(PEERS_PATIENCE).ok()
        });
        // A node that is shut down answers no list of peerings.
        self.peers()?;
        let hooks = Hooks {
            transport: self.transport.clone(),
            sink: peering_sink(&self.inbox),
            peers,
            host_interfaces: Arc::clone(&self.multicast.host),
        };
        let mut running = lock(&self.multicast.running);
        drop(running.take());
        let discovery = Discovery::start(config, hooks)?;
        let port = discovery.stats().listen_port;
        *running = Some(discovery);
        Ok(port)
    }

    /// Stops multicast discovery: its listener closes, no more beacons go
    /// out and no more dials start. Peerings it made stay up (close them
    /// with [`disconnect_peer_type`](Node::disconnect_peer_type)). Answers
    /// whether it was running.
    pub fn stop_multicast(&self) -> bool {
        self.multicast.stop()
    }

    /// Makes discovery use `interfaces` instead of listing the system's
    /// (`None` goes back to the system's), for hosts where the process
    /// cannot list them, as Android: the host calls it again whenever its
    /// network changes. A running discovery looks at the new list at once.
    /// Interfaces with index 0 get theirs looked up by name.
    pub fn set_multicast_interfaces(&self, interfaces: Option<Vec<NetInterface>>) {
        *lock(&self.multicast.host) = interfaces;
        if let Some(discovery) = lock(&self.multicast.running).as_ref() {
            discovery.rescan_soon();
        }
    }

    /// Discovery's counters and the interfaces it runs on; `None` when it
    /// is not running.
    pub fn multicast_stats(&self) -> Option<MulticastStats> {
        lock(&self.multicast.running).as_ref().map(Discovery::stats)
    }
}
