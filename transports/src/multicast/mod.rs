//! LAN multicast discovery, compatible with the reference's `multicast`
//! package.
//!
//! Every [`beacon interval`](MulticastConfig::beacon_interval) (2 s, the
//! first at once) a node sends a [`Beacon`] (its key and the port of a TCP
//! listener of its own) to `224.0.0.114:60606` and `[ff02::114]:60606` on
//! each interface in use: up, multicast-capable, neither loopback nor
//! point-to-point, named as the operator's regular expression allows, with
//! IPv4 only where the interface has a unicast IPv4 address that is not
//! link-local and IPv6 over its link-local address. Interfaces are looked
//! at again every 10 s, or taken from the host program
//! ([`Node::set_multicast_interfaces`](crate::Node::set_multicast_interfaces)).
//!
//! A beacon from another key not peered in the zone of the interface it
//! arrived on (learnt from the packet) leads to a TCP dial from that
//! interface's address; the peering has type multicast and the interface's
//! name as its zone, as do peerings accepted on the listener. Where the
//! reference is fragile, this is stricter (see the README): anything but an
//! exact beacon is ignored without disturbing the rest, reading is
//! budgeted, dials are bounded, and of two of our nodes only the one with
//! the lower key dials (the other after [a grace](MulticastConfig::tie_break_grace)),
//! so they end up with one peering. No peering is ever closed to break a
//! tie, so reference nodes (which dial whenever they find no peering in the
//! zone they compute) stay stable.

mod beacon;
mod budget;
mod config;
mod connect;
mod discovery;
mod interfaces;
mod listener;
mod policy;
mod sockets;
mod stats;

pub use beacon::{Beacon, BeaconError, BEACON_LEN};
pub use config::MulticastConfig;
pub(crate) use discovery::{Discovery, Hooks, HostInterfaces, PeerLister};
pub use interfaces::{parse_address_list, AddressListError, NetInterface};
pub use sockets::{GROUP_PORT, GROUP_V4, GROUP_V6};
pub use stats::MulticastStats;
