//! What the Bluetooth peering needs from a Bluetooth stack, kept to two
//! small traits so that everything above them runs against fakes in
//! tests: a [`Central`] that scans and reads the PSM characteristic over
//! GATT, and a [`Connector`] that opens L2CAP channels.

use std::io;
use std::time::Duration;

use thiserror::Error;

use super::address::{BdAddr, L2capAddress, LeAddressType};
use super::l2cap::L2capChannel;

/// The name a [`Central`] gives a device (for BlueZ, its D-Bus object
/// path, such as `/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub String);

/// A device seen advertising the P2P Matrix service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// The device.
    pub device: DeviceId,
    /// Its address as last advertised.
    pub address: BdAddr,
    /// Whether the address is public or random.
    pub address_type: LeAddressType,
}

/// A failure of the Bluetooth stack, with its own description.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct CentralError(pub String);

/// A BLE central: scans for the P2P Matrix service and reads the PSM
/// characteristic. Called from several threads at once.
pub trait Central: Send + Sync {
    /// Waits at most `timeout` for the next sighting of a device
    /// advertising the service; `Ok(None)` when none came in time.
    fn next_sighting(&self, timeout: Duration) -> Result<Option<Sighting>, CentralError>;

    /// Connects to the device's GATT server unless connected already, and
    /// reads the value of the PSM characteristic.
    fn read_psm_characteristic(&self, device: &DeviceId) -> Result<Vec<u8>, CentralError>;

    /// Lets go of the device's GATT connection, if there is one: its
    /// channel ended or the attempt failed.
    fn release(&self, device: &DeviceId);
}

/// Opens LE connection-oriented L2CAP channels.
pub trait Connector: Send + Sync {
    /// Opens an insecure channel to `to`.
    fn connect(&self, to: &L2capAddress) -> io::Result<L2capChannel>;
}

/// The kernel's L2CAP sockets ([`L2capChannel::connect`]), each connect
/// waiting at most `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct KernelConnector {
    /// How long the remote has to accept a channel.
    pub timeout: Duration,
}

impl Connector for KernelConnector {
    fn connect(&self, to: &L2capAddress) -> io::Result<L2capChannel> {
        L2capChannel::connect(to, self.timeout)
    }
}
