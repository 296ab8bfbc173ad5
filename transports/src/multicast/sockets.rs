//! The UDP sockets beacons travel on: one per address family, bound to the
//! group port on every address and joined to the group on each interface
//! in use. Several sockets on a host may share the port (another node, a
//! reference node), so the interface a beacon arrived on is read from the
//! packet (`IP_PKTINFO`, `IPV6_PKTINFO`), never inferred from the socket.

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use rustix::net::{sockopt as rsockopt, AddressFamily, SendFlags, SocketFlags, SocketType};

/// The IPv4 group beacons are sent to (the reference's).
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 114);
/// The IPv6 group beacons are sent to (link-local scope, the reference's).
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x114);
/// The UDP port of both groups (the reference's).
pub const GROUP_PORT: u16 = 60606;

/// Bytes read of a datagram: more than a beacon, so that a longer one is
/// seen to be longer (and refused).
const RECEIVE_BUFFER: usize = 64;

/// Which address family a socket carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Family {
    /// IPv4, group [`GROUP_V4`].
    V4,
    /// IPv6, group [`GROUP_V6`].
    V6,
}

/// A datagram received on the group.
#[derive(Debug)]
pub(crate) struct Received {
    /// Its bytes (at most [`RECEIVE_BUFFER`]; `truncated` when it was
    /// longer).
    pub(crate) bytes: Vec<u8>,
    /// Whether it was longer than what was read.
    pub(crate) truncated: bool,
    /// Who sent it.
    pub(crate) source: SocketAddr,
    /// The index of the interface it arrived on.
    pub(crate) interface: u32,
}

/// One family's group socket.
#[derive(Debug)]
pub(crate) struct GroupSocket {
    family: Family,
    port: u16,
    socket: OwnedFd,
}

impl GroupSocket {
    /// Opens the family's socket, non-blocking, bound to `port` on every
    /// address with the port shared (`SO_REUSEADDR`, `SO_REUSEPORT`), and
    /// asking for the arrival interface of each datagram.
    pub(crate) fn open(family: Family, port: u16) -> io::Result<GroupSocket> {
        let domain = match family {
            Family::V4 => AddressFamily::INET,
            Family::V6 => AddressFamily::INET6,
        };
        let socket = rustix::net::socket_with(
            domain,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        rsockopt::set_socket_reuseaddr(&socket, true)?;
        rsockopt::set_socket_reuseport(&socket, true)?;
        match family {
            Family::V4 => {
                setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)?;
                rustix::net::bind(
                    &socket,
                    &SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
                )?;
            }
            Family::V6 => {
                rsockopt::set_ipv6_v6only(&socket, true)?;
                setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)?;
                rustix::net::bind(
                    &socket,
                    &SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0)),
                )?;
            }
        }
        Ok(GroupSocket {
            family,
            port,
            socket,
        })
    }

    /// The family it carries.
    pub(crate) fn family(&self) -> Family {
        self.family
    }

    /// Joins the group on interface `index`.
    pub(crate) fn join(&self, index: u32) -> io::Result<()> {
        match self.family {
            Family::V4 => rsockopt::set_ip_add_membership_with_ifindex(
                &self.socket,
                &GROUP_V4,
                &Ipv4Addr::UNSPECIFIED,
                index,
            )?,
            Family::V6 => rsockopt::set_ipv6_add_membership(&self.socket, &GROUP_V6, index)?,
        }
        Ok(())
    }

    /// Leaves the group on interface `index` (an interface that has gone
    /// already left it).
    pub(crate) fn leave(&self, index: u32) -> io::Result<()> {
        match self.family {
            Family::V4 => rsockopt::set_ip_drop_membership_with_ifindex(
                &self.socket,
                &GROUP_V4,
                &Ipv4Addr::UNSPECIFIED,
                index,
            )?,
            Family::V6 => rsockopt::set_ipv6_drop_membership(&self.socket, &GROUP_V6, index)?,
        }
        Ok(())
    }

    /// Sends `bytes` to the group out of interface `index`; an IPv4
    /// datagram leaves from `source_v4`.
    pub(crate) fn send(&self, bytes: &[u8], index: u32, source_v4: Ipv4Addr) -> io::Result<()> {
        let destination = match self.family {
            Family::V4 => {
                rsockopt::set_ip_multicast_if_with_ifindex(
                    &self.socket,
                    &GROUP_V4,
                    &source_v4,
                    index,
                )?;
                SocketAddr::V4(SocketAddrV4::new(GROUP_V4, self.port))
            }
            Family::V6 => {
                rsockopt::set_ipv6_multicast_if(&self.socket, index)?;
                SocketAddr::V6(SocketAddrV6::new(GROUP_V6, self.port, 0, index))
            }
        };
        rustix::net::sendto(&self.socket, bytes, SendFlags::empty(), &destination)?;
        Ok(())
    }

    /// The next datagram waiting, if any (`None` when none is). One whose
    /// sender or arrival interface cannot be told is skipped.
    pub(crate) fn receive(&self) -> io::Result<Option<Received>> {
        loop {
            let mut buffer = [0u8; RECEIVE_BUFFER];
            let mut control = nix::cmsg_space!(nix::libc::in6_pktinfo);
            let mut iov = [IoSliceMut::new(&mut buffer)];
            let message = match recvmsg::<SockaddrStorage>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(message) => message,
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(error) => return Err(error.into()),
            };
            let length = message.bytes;
            let truncated = message.flags.contains(MsgFlags::MSG_TRUNC);
            let source = message.address.as_ref().and_then(socket_address);
            let mut interface = None;
            if let Ok(messages) = message.cmsgs() {
                for control in messages {
                    match control {
                        ControlMessageOwned::Ipv4PacketInfo(info) => {
                            interface = u32::try_from(info.ipi_ifindex).ok();
                        }
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            interface = Some(info.ipi6_ifindex);
                        }
                        _ => {}
                    }
                }
            }
            let (Some(source), Some(interface)) = (source, interface) else {
                continue;
            };
            let bytes = buffer.get(..length).unwrap_or(&buffer).to_vec();
            return Ok(Some(Received {
                bytes,
                truncated,
                source,
                interface,
            }));
        }
    }
}

impl AsFd for GroupSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// The standard library's form of a received datagram's source.
fn socket_address(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}
