//! One vectored write that never raises `SIGPIPE`.

use std::io::{self, IoSlice};
use std::os::fd::AsFd;

use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};

/// Writes `parts` with one `sendmsg(2)` carrying `MSG_NOSIGNAL`, so that a
/// peer that has gone away is an error rather than a signal; returns the
/// bytes written.
pub(crate) fn send_vectored(socket: impl AsFd, parts: &[IoSlice<'_>]) -> io::Result<usize> {
    let mut control = SendAncillaryBuffer::default();
    loop {
        match sendmsg(
            &socket,
            parts,
            &mut control,
            SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            result => return result.map_err(io::Error::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn writes_every_part_in_order() {
        let (left, mut right) = UnixStream::pair().expect("pair");
        let parts = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
        assert_eq!(send_vectored(&left, &parts).expect("send"), 5);
        let mut received = [0u8; 5];
        right.read_exact(&mut received).expect("read");
        assert_eq!(&received, b"abcde");
    }

    #[test]
    fn a_vanished_peer_is_an_error() {
        let (left, right) = UnixStream::pair().expect("pair");
        drop(right);
        let error = send_vectored(&left, &[IoSlice::new(b"x")]).expect_err("peer is gone");
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_full_socket_would_block() {
        let (left, _right) = UnixStream::pair().expect("pair");
        let chunk = vec![0u8; 64 << 10];
        let error = (0..1_000)
            .find_map(|_| send_vectored(&left, &[IoSlice::new(&chunk)]).err())
            .expect("the socket fills up");
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }
}
