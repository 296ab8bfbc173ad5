//! The daemon's `--bluetooth`: peering with P2P Matrix apps over
//! Bluetooth LE, in builds with the cargo feature `bluetooth`.

use std::sync::Arc;

use pinecone_transports::Node;

/// Bluetooth peering while it runs; dropping it stops it.
#[cfg(feature = "bluetooth")]
pub type Running = pinecone_transports::bluetooth::BluetoothPeering;

/// Nothing runs in a build without Bluetooth.
#[cfg(not(feature = "bluetooth"))]
pub type Running = std::convert::Infallible;

/// Starts Bluetooth peering on the first BlueZ adapter when `wanted`.
#[cfg(feature = "bluetooth")]
pub fn start(node: &Arc<Node>, wanted: bool) -> Result<Option<Running>, String> {
    if !wanted {
        return Ok(None);
    }
    let config = pinecone_transports::bluetooth::BluetoothConfig::default();
    pinecone_transports::bluetooth::start_on_bluez(Arc::clone(node), config)
        .map(Some)
        .map_err(|error| format!("cannot start Bluetooth: {error}"))
}

/// Refuses `--bluetooth` in a build without Bluetooth.
#[cfg(not(feature = "bluetooth"))]
pub fn start(_node: &Arc<Node>, wanted: bool) -> Result<Option<Running>, String> {
    if wanted {
        return Err(
            "this pinecone was built without Bluetooth support; rebuild it with `--features bluetooth`"
                .to_owned(),
        );
    }
    Ok(None)
}

/// Stops Bluetooth peering (before the node shuts down).
#[cfg(feature = "bluetooth")]
pub fn stop(running: Option<Running>) {
    drop(running);
}

/// Nothing to stop in a build without Bluetooth.
#[cfg(not(feature = "bluetooth"))]
pub fn stop(running: Option<Running>) {
    if let Some(never) = running {
        match never {}
    }
}
