//! The [`Central`] of Linux: btleplug over BlueZ's D-Bus API.
//!
//! btleplug is asynchronous, so this keeps a small tokio runtime (one
//! worker thread) of its own; the rest of the node never sees it. A task
//! turns the adapter's events into [`Sighting`]s on a bounded queue, and
//! GATT reads run on the runtime for the threads that ask for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use btleplug::api::{
    AddressType, Central as _, CentralEvent, Manager as _, Peripheral as _, ScanFilter,
};
use btleplug::platform::{Adapter, Manager, Peripheral};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use futures::StreamExt;
use tokio::runtime::Runtime;
use uuid::Uuid;

use super::address::{BdAddr, LeAddressType};
use super::central::{Central, CentralError, DeviceId, Sighting};
use super::gatt::{PSM_CHARACTERISTIC_UUID, SERVICE_UUID};

/// Sightings waiting for the discovery thread; more are dropped (the
/// device advertises again).
const SIGHTING_QUEUE: usize = 256;

/// Most devices whose handles are kept; past it the map is cleared (the
/// next sighting of a device brings its handle back).
const MAX_PERIPHERALS: usize = 1024;

/// The first BlueZ adapter, scanning for the P2P Matrix service.
pub struct BluezCentral {
    runtime: Runtime,
    adapter: Adapter,
    /// The adapter's description, for logs.
    name: String,
    sightings: Receiver<Sighting>,
    peripherals: Arc<Mutex<HashMap<DeviceId, Peripheral>>>,
    gatt_timeout: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failed(what: &str) -> impl Fn(btleplug::Error) -> CentralError + '_ {
    move |error| CentralError(format!("{what}: {error}"))
}

impl BluezCentral {
    /// Connects to BlueZ, takes its first adapter and starts scanning.
    /// Each GATT connection and read waits at most `gatt_timeout`.
    pub fn start(gatt_timeout: Duration) -> Result<BluezCentral, CentralError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pinecone-bluez")
            .enable_all()
            .build()
            .map_err(|error| {
                CentralError(format!("cannot start the Bluetooth runtime: {error}"))
            })?;
        let service = Uuid::from_u128(SERVICE_UUID);
        let (adapter, name, events) = runtime.block_on(async {
            let manager = Manager::new().await.map_err(failed("cannot reach BlueZ"))?;
            let adapter = manager
                .adapters()
                .await
                .map_err(failed("cannot list Bluetooth adapters"))?
                .into_iter()
                .next()
                .ok_or_else(|| CentralError("no Bluetooth adapter".to_owned()))?;
            let name = adapter.adapter_info().await.unwrap_or_default();
            let events = adapter
                .events()
                .await
                .map_err(failed("cannot watch the adapter"))?;
            adapter
                .start_scan(ScanFilter {
                    services: vec![service],
                })
                .await
                .map_err(failed("cannot start scanning"))?;
            Ok::<_, CentralError>((adapter, name, events))
        })?;
        let (sink, sightings) = crossbeam_channel::bounded(SIGHTING_QUEUE);
        let peripherals = Arc::default();
        runtime.spawn(forward_sightings(
            adapter.clone(),
            events,
            sink,
            Arc::clone(&peripherals),
        ));
        Ok(BluezCentral {
            runtime,
            adapter,
            name,
            sightings,
            peripherals,
            gatt_timeout,
        })
    }

    /// The adapter's description (BlueZ: its name and address).
    pub fn adapter_name(&self) -> &str {
        &self.name
    }

    fn peripheral(&self, device: &DeviceId) -> Result<Peripheral, CentralError> {
        lock(&self.peripherals)
            .get(device)
            .cloned()
            .ok_or_else(|| CentralError(format!("{} is no longer known", device.0)))
    }
}

/// Turns adapter events about devices advertising `SERVICE_UUID` into
/// sightings, until the discovery side goes away.
async fn forward_sightings(
    adapter: Adapter,
    mut events: std::pin::Pin<Box<dyn futures::Stream<Item = CentralEvent> + Send>>,
    sink: Sender<Sighting>,
    peripherals: Arc<Mutex<HashMap<DeviceId, Peripheral>>>,
) {
    let service = Uuid::from_u128(SERVICE_UUID);
    while let Some(event) = events.next().await {
        let id = match event {
            CentralEvent::DeviceDiscovered(id)
            | CentralEvent::DeviceUpdated(id)
            | CentralEvent::ServicesAdvertisement { id, .. } => id,
            _ => continue,
        };
        let Ok(peripheral) = adapter.peripheral(&id).await else {
            continue;
        };
        let Ok(Some(properties)) = peripheral.properties().await else {
            continue;
        };
        if !properties.services.contains(&service) {
            continue;
        }
        let device = DeviceId(id.to_string());
        {
            let mut known = lock(&peripherals);
            if known.len() >= MAX_PERIPHERALS && !known.contains_key(&device) {
                known.clear();
            }
            known.insert(device.clone(), peripheral);
        }
        let sighting = Sighting {
            device,
            address: BdAddr(properties.address.into_inner()),
            address_type: match properties.address_type {
                Some(AddressType::Public) => LeAddressType::Public,
                // Phones advertise with random addresses; BlueZ reports
                // the type, so the fallback is rarely taken.
                Some(AddressType::Random) | None => LeAddressType::Random,
            },
        };
        match sink.try_send(sighting) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => break,
        }
    }
}

impl Central for BluezCentral {
    fn next_sighting(&self, timeout: Duration) -> Result<Option<Sighting>, CentralError> {
        match self.sightings.recv_timeout(timeout) {
            Ok(sighting) => Ok(Some(sighting)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                Err(CentralError("the adapter's event stream ended".to_owned()))
            }
        }
    }

    fn read_psm_characteristic(&self, device: &DeviceId) -> Result<Vec<u8>, CentralError> {
        let peripheral = self.peripheral(device)?;
        let timeout = self.gatt_timeout;
        let read = async move {
            if !peripheral.is_connected().await.unwrap_or(false) {
                peripheral.connect().await.map_err(failed("GATT connect"))?;
            }
            peripheral
                .discover_services()
                .await
                .map_err(failed("GATT service discovery"))?;
            let characteristic = peripheral
                .characteristics()
                .into_iter()
                .find(|c| {
                    c.service_uuid == Uuid::from_u128(SERVICE_UUID)
                        && c.uuid == Uuid::from_u128(PSM_CHARACTERISTIC_UUID)
                })
                .ok_or_else(|| CentralError("no PSM characteristic".to_owned()))?;
            peripheral
                .read(&characteristic)
                .await
                .map_err(failed("GATT read"))
        };
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, read).await })
            .map_err(|_| CentralError(format!("GATT read not done within {timeout:?}")))?
    }

    fn release(&self, device: &DeviceId) {
        if let Ok(peripheral) = self.peripheral(device) {
            let timeout = self.gatt_timeout;
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(timeout, peripheral.disconnect()).await });
        }
    }
}

impl Drop for BluezCentral {
    fn drop(&mut self) {
        let adapter = self.adapter.clone();
        let timeout = self.gatt_timeout;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, adapter.stop_scan()).await });
    }
}
