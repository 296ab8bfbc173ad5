//! The reference implementation's runtime switches, which Dendrite calls:
//! hop limiting of forwarded traffic and the periodic wakeup broadcast.

use std::ffi::c_int;

use crate::boundary::run;
use crate::handle::{enter, PineconeNode};

/// Turns hop limiting of the traffic the node forwards on (`enabled`
/// non-zero) or off (the reference's `EnableHopLimiting` and
/// `DisableHopLimiting`): when on, each forwarded traffic frame's hop
/// limit is decremented and the frame dropped at 1. Off when a node
/// starts, as in the reference. Returns 0 once the forwarding workers use
/// the setting, or -1 on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_set_hop_limiting(
    node: *mut PineconeNode,
    enabled: c_int,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        call.node().set_hop_limiting(enabled != 0)?;
        Ok(0)
    })
}

/// Turns the periodic wakeup broadcast on (`enabled` non-zero) or off (the
/// reference's `EnableWakeupBroadcasts` and `DisableWakeupBroadcasts`). On
/// when a node starts (the first after 60 s); turning it on floods one at
/// once and then every 60 s. As in the reference, while it is off a
/// peer's first announcement is still answered with a broadcast, and
/// broadcasts received are still handled and passed on. Returns 0, or -1
/// on failure.
///
/// # Safety
///
/// `node` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_set_wakeup_broadcasts(
    node: *mut PineconeNode,
    enabled: c_int,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        call.node().set_wakeup_broadcasts(enabled != 0)?;
        Ok(0)
    })
}
