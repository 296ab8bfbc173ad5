//! Carries a peering's byte stream over a sequenced-packet L2CAP channel.
//!
//! The node peers over one end of a Unix stream socket pair; two threads
//! move bytes between the other end and the channel. Received SDUs are
//! written to the stream as they come (the peering's framing does not
//! care where SDUs begin); the stream's bytes go out in SDUs of at most
//! the channel's send MTU, since the kernel refuses a larger one. Each
//! direction holds one buffer in flight, so backpressure on either side
//! stops the other. When either side ends or fails, both sockets are shut
//! down, which ends the other direction and the peering.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;

use rustix::net::{recv, send, RecvFlags, SendFlags};
use tracing::debug;

use super::l2cap::L2capChannel;

/// The largest SDU of an LE credit-based channel (its SDU length field is
/// 16 bits).
const MAX_SDU: usize = 65_535;

/// Shuts a running bridge down from outside.
#[derive(Debug, Clone)]
pub struct BridgeCloser {
    channel: Arc<OwnedFd>,
    local: Arc<UnixStream>,
}

impl BridgeCloser {
    /// Ends the bridge: both sockets are shut down, the node sees its
    /// peering's stream end and the remote sees the channel close.
    pub fn close(&self) {
        let _ = rustix::net::shutdown(&*self.channel, rustix::net::Shutdown::Both);
        let _ = self.local.shutdown(Shutdown::Both);
    }
}

/// Starts the two threads of a bridge over `channel` and returns the
/// stream to peer over and a closer. `on_end` runs once, on a bridge
/// thread, when both directions have stopped. `label` names the channel in
/// logs.
pub fn bridge(
    channel: L2capChannel,
    label: String,
    on_end: impl FnOnce() + Send + 'static,
) -> io::Result<(UnixStream, BridgeCloser)> {
    let (local, peering_end) = UnixStream::pair()?;
    let closer = BridgeCloser {
        channel: Arc::new(channel.fd),
        local: Arc::new(local),
    };
    let send_mtu = channel.send_mtu.clamp(1, MAX_SDU);
    let outbound = closer.clone();
    let inbound = closer.clone();
    thread::Builder::new()
        .name("pinecone-l2cap".to_owned())
        .spawn(move || {
            thread::scope(|scope| {
                scope.spawn(|| {
                    let end = stream_to_channel(&outbound, send_mtu);
                    debug!(channel = %label, ?end, "outbound direction ended");
                    outbound.close();
                });
                let end = channel_to_stream(&inbound);
                debug!(channel = %label, ?end, "inbound direction ended");
                inbound.close();
            });
            on_end();
        })?;
    Ok((peering_end, closer))
}

/// Moves received SDUs to the stream until either ends.
fn channel_to_stream(bridge: &BridgeCloser) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_SDU];
    loop {
        let len = match recv(&*bridge.channel, &mut buf[..], RecvFlags::empty()) {
            Ok((_, 0)) => return Ok(()),
            Ok((_, len)) => len,
            Err(rustix::io::Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        };
        (&*bridge.local).write_all(&buf[..len])?;
    }
}

/// Sends the stream's bytes in SDUs of at most `send_mtu` until either
/// ends.
fn stream_to_channel(bridge: &BridgeCloser, send_mtu: usize) -> io::Result<()> {
    let mut buf = vec![0u8; send_mtu];
    loop {
        let len = match (&*bridge.local).read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(len) => len,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        loop {
            match send(&*bridge.channel, &buf[..len], SendFlags::NOSIGNAL) {
                Ok(sent) if sent == len => break,
                Ok(sent) => {
                    return Err(io::Error::other(format!(
                        "the channel took {sent} of a {len}-byte SDU"
                    )))
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::RecvTimeoutError;
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
    use std::time::Duration;

    /// A sequenced-packet socket pair standing in for an L2CAP channel:
    /// the bridge's end, and the "remote" end.
    fn seqpacket_pair(send_mtu: usize) -> (L2capChannel, OwnedFd) {
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .expect("socketpair");
        (L2capChannel { fd: ours, send_mtu }, theirs)
    }

    #[test]
    fn stream_bytes_go_out_in_sdus_no_larger_than_the_mtu() {
        let (channel, remote) = seqpacket_pair(100);
        let (ended_tx, ended) = crossbeam_channel::bounded(1);
        let (mut stream, _closer) = bridge(channel, "test".into(), move || {
            let _ = ended_tx.send(());
        })
        .expect("bridge");
        let sent: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        stream.write_all(&sent).expect("write");
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        while received.len() < sent.len() {
            let (_, len) = recv(&remote, &mut buf, RecvFlags::empty()).expect("recv");
            assert!(len > 0 && len <= 100, "an SDU of {len} bytes");
            received.extend_from_slice(&buf[..len]);
        }
        assert_eq!(received, sent);

        // Remote SDUs arrive as one stream, in order.
        for sdu in [&b"abc"[..], &[9u8; 3000], b"z"] {
            send(&remote, sdu, SendFlags::empty()).expect("send");
        }
        let mut expected = b"abc".to_vec();
        expected.extend([9u8; 3000]);
        expected.push(b'z');
        let mut got = vec![0u8; expected.len()];
        stream.read_exact(&mut got).expect("read");
        assert_eq!(got, expected);

        // The remote closing ends the stream and the bridge.
        drop(remote);
        assert_eq!(stream.read(&mut buf).expect("read"), 0);
        ended
            .recv_timeout(Duration::from_secs(10))
            .expect("the bridge ends");
    }

    #[test]
    fn closing_the_stream_or_the_closer_ends_the_channel() {
        for by_closer in [false, true] {
            let (channel, remote) = seqpacket_pair(64);
            let (ended_tx, ended) = crossbeam_channel::bounded(1);
            let (stream, closer) = bridge(channel, "test".into(), move || {
                let _ = ended_tx.send(());
            })
            .expect("bridge");
            assert_eq!(
                ended.recv_timeout(Duration::from_millis(200)),
                Err(RecvTimeoutError::Timeout),
                "a live bridge keeps running"
            );
            if by_closer {
                closer.close();
            } else {
                drop(stream);
            }
            let mut buf = [0u8; 16];
            let (_, len) = recv(&remote, &mut buf, RecvFlags::empty()).expect("recv");
            assert_eq!(len, 0, "the remote sees the channel end");
            ended
                .recv_timeout(Duration::from_secs(10))
                .expect("the bridge ends");
        }
    }
}
