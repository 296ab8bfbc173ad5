//! Bluetooth Low Energy peering with P2P Matrix apps (cargo feature
//! `bluetooth`, Linux with BlueZ).
//!
//! Element's P2P apps advertise a GATT service whose characteristic holds
//! the PSM of an insecure L2CAP connection-oriented channel they listen on
//! ([`gatt`]). A node here acts as a BLE central: it scans for that
//! service, reads the PSM, opens the channel with a kernel Bluetooth
//! socket ([`L2capChannel`]; btleplug has no L2CAP) and peers over it,
//! peer type Bluetooth, with reconnects and de-duplication by key
//! ([`Discovery`]). It is not a peripheral: phones and other Linux nodes
//! do not find it.
//!
//! The Bluetooth stack is behind two traits ([`Central`], [`Connector`]);
//! [`BluezCentral`] (btleplug, with a tokio runtime of its own) and
//! [`KernelConnector`] are the real ones. [`start_on_bluez`] wires them to
//! a node.

mod address;
mod bluez;
mod central;
mod channel;
mod discovery;
mod gatt;
mod l2cap;
mod manager;

use std::sync::Arc;

pub use address::{
    BdAddr, BdAddrError, L2capAddress, LeAddressType, AF_BLUETOOTH, SOCKADDR_L2_LEN,
};
pub use bluez::BluezCentral;
pub use central::{Central, CentralError, Connector, DeviceId, KernelConnector, Sighting};
pub use channel::{bridge, BridgeCloser};
pub use discovery::{AttemptId, Discovery, DiscoveryConfig, Refusal, Verdict};
pub use gatt::{
    key_prefix, PsmCharacteristic, PsmError, KEY_PREFIX_LEN, MAX_LE_PSM, PSM_CHARACTERISTIC_UUID,
    SERVICE_UUID,
};
pub use l2cap::{L2capChannel, MIN_LE_MTU};
pub use manager::{BluetoothConfig, BluetoothPeering, BLUETOOTH_ZONE};

use crate::node::Node;

/// Starts Bluetooth peering for `node` on the first BlueZ adapter.
pub fn start_on_bluez(
    node: Arc<Node>,
    config: BluetoothConfig,
) -> Result<BluetoothPeering, CentralError> {
    let central = BluezCentral::start(config.gatt_timeout)?;
    tracing::info!(adapter = %central.adapter_name(), "Bluetooth scanning for P2P Matrix peers");
    let connector = KernelConnector {
        timeout: config.channel_timeout,
    };
    BluetoothPeering::start(node, Arc::new(central), Arc::new(connector), config)
        .map_err(|error| CentralError(format!("cannot start Bluetooth discovery: {error}")))
}
