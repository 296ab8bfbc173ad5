//! Opening an LE connection-oriented L2CAP channel through the kernel's
//! Bluetooth sockets (`AF_BLUETOOTH`, `SOCK_SEQPACKET`, `BTPROTO_L2CAP`),
//! which btleplug does not offer.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::address::{L2capAddress, SOCKADDR_L2_LEN};

/// `BTPROTO_L2CAP` (`include/net/bluetooth/bluetooth.h`).
const BTPROTO_L2CAP: libc::c_int = 0;
/// `BT_SECURITY`, an option at `SOL_BLUETOOTH` taking `struct bt_security`.
const BT_SECURITY: libc::c_int = 4;
/// `BT_SECURITY_LOW`: no pairing or encryption, what Element's apps ask
/// for (Android's `createInsecureL2capChannel`, iOS's
/// `publishL2CAPChannel(withEncryption: false)`).
const BT_SECURITY_LOW: u8 = 1;
/// `BT_SNDMTU`, an option at `SOL_BLUETOOTH`: the largest SDU the remote
/// accepts, as a `u16`.
const BT_SNDMTU: libc::c_int = 12;
/// The smallest MTU of an LE credit-based channel (Core spec, Vol 3,
/// Part A, 4.22), used when the kernel does not say.
pub const MIN_LE_MTU: usize = 23;

/// `struct bt_security`.
#[repr(C)]
struct BtSecurity {
    level: u8,
    key_size: u8,
}

/// `struct sockaddr_l2`, bytes from [`L2capAddress::to_sockaddr_l2`],
/// aligned as the kernel's struct is.
#[repr(C, align(2))]
struct SockaddrL2([u8; SOCKADDR_L2_LEN]);

/// A connected sequenced-packet socket carrying a peering: each `send`
/// is one SDU of at most `send_mtu` bytes, each `recv` one SDU.
#[derive(Debug)]
pub struct L2capChannel {
    /// The socket, in blocking mode.
    pub fd: OwnedFd,
    /// The largest message the remote accepts.
    pub send_mtu: usize,
}

impl L2capChannel {
    /// Opens an insecure (`BT_SECURITY_LOW`) LE channel to `to`, waiting
    /// at most `timeout` for the remote to accept.
    pub fn connect(to: &L2capAddress, timeout: Duration) -> io::Result<L2capChannel> {
        // SAFETY: socket(2) with constant arguments; the result is checked
        // before it is owned.
        let raw = unsafe {
            libc::socket(
                libc::AF_BLUETOOTH,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                BTPROTO_L2CAP,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor just opened and owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let security = BtSecurity {
            level: BT_SECURITY_LOW,
            key_size: 0,
        };
        // SAFETY: the option value points to a live `bt_security` of the
        // length given.
        check(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_BLUETOOTH,
                BT_SECURITY,
                (&security as *const BtSecurity).cast(),
                size_of::<BtSecurity>() as libc::socklen_t,
            )
        })?;
        let address = SockaddrL2(to.to_sockaddr_l2());
        // SAFETY: the address points to a live `sockaddr_l2` of the length
        // given; the kernel copies it.
        let connected = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&address as *const SockaddrL2).cast(),
                SOCKADDR_L2_LEN as libc::socklen_t,
            )
        };
        if connected < 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(error);
            }
            wait_connected(&fd, timeout)?;
        }
        rustix::io::ioctl_fionbio(&fd, false)?;
        let send_mtu = send_mtu(&fd).unwrap_or(MIN_LE_MTU);
        Ok(L2capChannel { fd, send_mtu })
    }
}

/// Waits for a non-blocking connect to finish and reports how it ended.
fn wait_connected(fd: &OwnedFd, timeout: Duration) -> io::Result<()> {
    let timeout = Timespec::try_from(timeout).map_err(io::Error::other)?;
    let mut fds = [PollFd::new(fd, PollFlags::OUT)];
    loop {
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the L2CAP channel was not accepted in time",
                ))
            }
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
    match rustix::net::sockopt::socket_error(fd)? {
        Ok(()) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The remote's MTU for this channel, when the kernel reports it.
fn send_mtu(fd: &OwnedFd) -> io::Result<usize> {
    let mut mtu: u16 = 0;
    let mut len = size_of::<u16>() as libc::socklen_t;
    // SAFETY: the option value points to a live `u16` whose length is in
    // `len`, which the kernel updates.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_BLUETOOTH,
            BT_SNDMTU,
            (&mut mtu as *mut u16).cast(),
            &mut len,
        )
    })?;
    match usize::from(mtu) {
        0 => Err(io::Error::other("the kernel reported an MTU of 0")),
        mtu => Ok(mtu),
    }
}

fn check(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bluetooth::address::LeAddressType;

    #[test]
    fn struct_sizes_match_the_kernel() {
        assert_eq!(size_of::<BtSecurity>(), 2);
        assert_eq!(size_of::<SockaddrL2>(), 14);
        assert_eq!(std::mem::align_of::<SockaddrL2>(), 2);
    }

    /// Without an adapter (or without Bluetooth in the kernel), or with
    /// one but no such device in range, connecting fails with an error
    /// within the timeout instead of hanging.
    #[test]
    fn connecting_to_an_absent_device_fails() {
        let to = L2capAddress {
            address: "AA:BB:CC:DD:EE:FF".parse().expect("valid"),
            address_type: LeAddressType::Random,
            psm: 0x81,
        };
        let started = std::time::Instant::now();
        let error = L2capChannel::connect(&to, Duration::from_secs(2)).expect_err("no such device");
        eprintln!("connecting failed as expected: {error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
