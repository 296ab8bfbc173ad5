//! The TCP listener beacons invite peers to: every address, both families
//! where the system has IPv6, peerings of type multicast in the zone of
//! the interface they came in on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener};
use std::sync::Arc;

use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
use tracing::debug;

use super::discovery::Shared;
use super::interfaces::zone_of;
use super::stats::bump;
use crate::inbound::set_up;
use crate::listener::{Listener, LISTEN_BACKLOG};
use crate::peering::{PeerOrigin, PeerStream, PeerType};

/// Listens on the configured port of every address and takes peerings in
/// for discovery's node.
pub(super) fn listen(shared: &Arc<Shared>) -> io::Result<Listener> {
    let port = shared.config.listen_port;
    let socket = bind_dual_stack(port).or_else(|error| {
        debug!(%error, "no IPv6 listener for multicast peers; IPv4 only");
        bind(
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
            false,
        )
    })?;
    let shared = Arc::clone(shared);
    Listener::spawn(
        socket,
        "pinecone-multicast-accept",
        move |stream, remote, accepted| {
            if shared.stopping() {
                return;
            }
            let local = stream
                .local_addr()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
            let scope = match remote {
                SocketAddr::V6(v6) => v6.scope_id(),
                SocketAddr::V4(_) => 0,
            };
            // As the reference: an address that is on no interface (listed
            // last) gets the empty zone.
            let zone = zone_of(&shared.listed().0, local, scope).unwrap_or_default();
            let shared = Arc::clone(&shared);
            set_up(
                &shared.hooks.transport.clone(),
                stream,
                remote,
                move |transport, stream| {
                    let origin = PeerOrigin {
                        peer_type: PeerType::Multicast,
                        zone,
                        uri: SocketAddr::new(remote.ip().to_canonical(), remote.port()).to_string(),
                        outbound: false,
                    };
                    let deadline = transport.setup_deadline(accepted);
                    if let Ok(peering) =
                        transport.establish_before(PeerStream::Tcp(stream), origin, deadline)
                    {
                        if !shared.stopping() {
                            bump(&shared.counters.accepted);
                            (shared.hooks.sink)(peering);
                        }
                    }
                },
            );
        },
    )
}

/// A listener on every IPv6 address that takes IPv4 too.
fn bind_dual_stack(port: u16) -> io::Result<TcpListener> {
    bind(
        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0)),
        true,
    )
}

fn bind(address: SocketAddr, dual_stack: bool) -> io::Result<TcpListener> {
    let family = match address {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&socket, true)?;
    if dual_stack {
        sockopt::set_ipv6_v6only(&socket, false)?;
    }
    rustix::net::bind(&socket, &address)?;
    rustix::net::listen(&socket, LISTEN_BACKLOG)?;
    Ok(TcpListener::from(socket))
}
