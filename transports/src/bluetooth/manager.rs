//! Runs Bluetooth discovery for a node: sightings in, peerings out.
//!
//! One thread takes sightings from the [`Central`] and starts the attempts
//! [`Discovery`] says are due, each on a thread of its own: read the PSM
//! characteristic, open the L2CAP channel, bridge it onto a stream and
//! attach that to the node (handshake included) as a Bluetooth peering.
//! When a bridge ends (the node closed the peering, the remote went away)
//! the device is retried after its backoff delay.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pinecone_engine::control::PeerType;
use tracing::{debug, info, warn};

use super::address::L2capAddress;
use super::central::{Central, Connector, DeviceId, Sighting};
use super::channel::{bridge, BridgeCloser};
use super::discovery::{AttemptId, Discovery, DiscoveryConfig, Refusal, Verdict};
use super::gatt::PsmCharacteristic;
use crate::node::Node;
use crate::peering::{PeerOrigin, PeerStream};

/// The zone of Bluetooth peerings, as Element's P2P apps name it.
pub const BLUETOOTH_ZONE: &str = "ble";

/// The longest the discovery thread waits for a sighting before looking
/// at what is due again.
const POLL: Duration = Duration::from_millis(500);

/// How often a failing central is reported in the log at most.
const CENTRAL_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Settings of Bluetooth peering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BluetoothConfig {
    /// Discovery limits and retry delays.
    pub discovery: DiscoveryConfig,
    /// The zone of the peerings.
    pub zone: String,
    /// How long a GATT connection and read of the PSM characteristic may
    /// take (BlueZ).
    pub gatt_timeout: Duration,
    /// How long the remote has to accept the L2CAP channel.
    pub channel_timeout: Duration,
}

impl Default for BluetoothConfig {
    /// [`DiscoveryConfig::default`], zone `ble`, 10 s for the GATT read
    /// and 10 s for the channel.
    fn default() -> Self {
        BluetoothConfig {
            discovery: DiscoveryConfig::default(),
            zone: BLUETOOTH_ZONE.to_owned(),
            gatt_timeout: Duration::from_secs(10),
            channel_timeout: Duration::from_secs(10),
        }
    }
}

/// Bluetooth peering of one node, running until dropped. Dropping it
/// stops discovery and closes its peerings; an attempt in flight ends on
/// its own (within the central's and connector's timeouts) and closes
/// what it opened.
pub struct BluetoothPeering {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    node: Arc<Node>,
    central: Arc<dyn Central>,
    connector: Arc<dyn Connector>,
    zone: String,
    discovery: Mutex<Discovery>,
    bridges: Mutex<HashMap<(DeviceId, AttemptId), BridgeCloser>>,
    stopping: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BluetoothPeering {
    /// Starts discovery for `node` over `central`, opening channels with
    /// `connector`.
    pub fn start(
        node: Arc<Node>,
        central: Arc<dyn Central>,
        connector: Arc<dyn Connector>,
        config: BluetoothConfig,
    ) -> std::io::Result<BluetoothPeering> {
        let discovery = Discovery::new(node.public_key().0, config.discovery);
        let shared = Arc::new(Shared {
            node,
            central,
            connector,
            zone: config.zone,
            discovery: Mutex::new(discovery),
            bridges: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("pinecone-bluetooth".to_owned())
                .spawn(move || run(&shared))?
        };
        Ok(BluetoothPeering {
            shared,
            worker: Some(worker),
        })
    }

    /// The keys peered over Bluetooth by this manager, by device.
    pub fn peerings(&self) -> Vec<(DeviceId, [u8; 32])> {
        lock(&self.shared.discovery).peerings()
    }
}

impl Drop for BluetoothPeering {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                warn!("the Bluetooth discovery thread panicked");
            }
        }
        for closer in lock(&self.shared.bridges).values() {
            closer.close();
        }
    }
}

/// The discovery thread.
fn run(shared: &Arc<Shared>) {
    let mut last_error_logged: Option<Instant> = None;
    while !shared.stopping.load(Ordering::SeqCst) {
        let now = Instant::now();
        let due = lock(&shared.discovery).due(now);
        for (sighting, attempt) in due {
            let worker = Arc::clone(shared);
            let spawned = thread::Builder::new()
                .name("pinecone-ble-dial".to_owned())
                .spawn(move || worker.attempt(sighting, attempt));
            if let Err(error) = spawned {
                warn!(%error, "cannot start a Bluetooth attempt");
            }
        }
        let wait = lock(&shared.discovery)
            .next_due()
            .map_or(POLL, |at| at.saturating_duration_since(now))
            .clamp(Duration::from_millis(10), POLL);
        match shared.central.next_sighting(wait) {
            Ok(Some(sighting)) => {
                if !lock(&shared.discovery).seen(sighting.clone(), Instant::now()) {
                    debug!(device = %sighting.address, "too many Bluetooth devices; sighting ignored");
                }
            }
            Ok(None) => {}
            Err(error) => {
                if last_error_logged.is_none_or(|at| at.elapsed() >= CENTRAL_ERROR_LOG_INTERVAL) {
                    warn!(%error, "Bluetooth scanning failed");
                    last_error_logged = Some(Instant::now());
                }
                thread::sleep(wait);
            }
        }
    }
}

impl Shared {
    /// One attempt at peering with a device, from the GATT read to the
    /// peering coming up.
    fn attempt(self: Arc<Self>, sighting: Sighting, attempt: AttemptId) {
        let device = sighting.device.clone();
        let psm = match self.read_psm(&sighting, attempt) {
            Ok(Some(psm)) => psm,
            Ok(None) => {
                self.central.release(&device);
                return;
            }
            Err(error) => {
                debug!(device = %sighting.address, %error, "Bluetooth attempt failed");
                self.fail(&device, attempt);
                return;
            }
        };
        let to = L2capAddress {
            address: sighting.address,
            address_type: sighting.address_type,
            psm,
        };
        let channel = match self.connector.connect(&to) {
            Ok(channel) => channel,
            Err(error) => {
                debug!(channel = %to, %error, "cannot open the L2CAP channel");
                self.fail(&device, attempt);
                return;
            }
        };
        let on_end = {
            let shared = Arc::clone(&self);
            let device = device.clone();
            move || shared.bridge_ended(&device, attempt)
        };
        let (stream, closer) = match bridge(channel, to.to_string(), on_end) {
            Ok(bridged) => bridged,
            Err(error) => {
                warn!(channel = %to, %error, "cannot bridge the L2CAP channel");
                self.fail(&device, attempt);
                return;
            }
        };
        lock(&self.bridges).insert((device.clone(), attempt), closer.clone());
        if self.stopping.load(Ordering::SeqCst) {
            closer.close();
            return;
        }
        let origin = PeerOrigin {
            peer_type: PeerType::Bluetooth,
            zone: self.zone.clone(),
            uri: to.to_string(),
            outbound: true,
        };
        // From here on, the bridge ending is what returns the device to
        // idle: closing it is enough on every path.
        let key = match self.node.attach(PeerStream::Unix(stream), origin) {
            Ok(key) => key,
            Err(error) => {
                info!(channel = %to, %error, "Bluetooth peering failed");
                closer.close();
                return;
            }
        };
        let kept = lock(&self.discovery).peered(&device, attempt, key.0, Instant::now());
        match kept {
            Ok(()) => info!(channel = %to, peer = %key, "Bluetooth peering up"),
            Err(Refusal::Duplicate) => {
                info!(channel = %to, peer = %key, "already peered with this key over Bluetooth; closing the new channel");
                closer.close();
            }
            Err(Refusal::Stale) => closer.close(),
        }
    }

    /// Reads and judges the device's characteristic: the PSM to open, or
    /// `None` when the device is not to be dialled now.
    fn read_psm(&self, sighting: &Sighting, attempt: AttemptId) -> Result<Option<u16>, String> {
        let value = self
            .central
            .read_psm_characteristic(&sighting.device)
            .map_err(|error| format!("reading the PSM characteristic: {error}"))?;
        let characteristic = PsmCharacteristic::parse(&value).map_err(|error| error.to_string())?;
        let verdict = lock(&self.discovery).characteristic_read(
            &sighting.device,
            attempt,
            &characteristic,
            Instant::now(),
        );
        match verdict {
            Verdict::Connect => Ok(Some(characteristic.psm)),
            other => {
                debug!(device = %sighting.address, ?other, "not dialling this device now");
                Ok(None)
            }
        }
    }

    /// An attempt failed before its bridge started.
    fn fail(&self, device: &DeviceId, attempt: AttemptId) {
        self.central.release(device);
        lock(&self.discovery).ended(device, attempt, Instant::now());
    }

    /// A bridge ended: the peering is gone (or never came up).
    fn bridge_ended(&self, device: &DeviceId, attempt: AttemptId) {
        lock(&self.bridges).remove(&(device.clone(), attempt));
        self.central.release(device);
        lock(&self.discovery).ended(device, attempt, Instant::now());
        debug!(device = %device.0, "Bluetooth channel closed");
    }
}
