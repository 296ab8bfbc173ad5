//! Peering over a stream socket the embedding program connected itself.

use std::ffi::{c_char, c_int};
use std::net::TcpStream;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use pinecone_transports::{PeerOrigin, PeerStream};
use rustix::net::{sockopt, AddressFamily, SocketType};

use crate::boundary::{read_str, run, Failure};
use crate::handle::{enter, PineconeNode};
use crate::peer_types::peer_type;

/// The zone at `zone`, which may be NULL for none.
///
/// # Safety
///
/// `zone` is NULL or a NUL-terminated string.
pub(crate) unsafe fn read_zone(zone: *const c_char) -> Result<String, Failure> {
    if zone.is_null() {
        return Ok(String::new());
    }
    // SAFETY: not NULL; the caller promises a NUL-terminated string.
    Ok(unsafe { read_str(zone, "zone") }?.to_owned())
}

/// A second descriptor for the connected TCP or Unix stream socket `fd`,
/// as a peer stream with where it leads.
fn stream_of(fd: c_int) -> Result<(PeerStream, String), Failure> {
    if fd < 0 {
        return Err(Failure(format!("{fd} is not a file descriptor")));
    }
    // SAFETY: the caller of `pinecone_node_attach_fd` promises `fd` is open
    // during the call; the borrow ends before it returns.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned: OwnedFd = rustix::io::fcntl_dupfd_cloexec(borrowed, 0)
        .map_err(|error| Failure(format!("fd {fd}: {error}")))?;
    let kind = sockopt::socket_type(&owned)
        .map_err(|error| Failure(format!("fd {fd} is not a socket: {error}")))?;
    if kind != SocketType::STREAM {
        return Err(Failure(format!("fd {fd} is not a stream socket")));
    }
    let family = sockopt::socket_domain(&owned).map_err(Failure::from)?;
    if family == AddressFamily::UNIX {
        return Ok((PeerStream::Unix(UnixStream::from(owned)), "unix".to_owned()));
    }
    if family != AddressFamily::INET && family != AddressFamily::INET6 {
        return Err(Failure(format!(
            "fd {fd} is neither a TCP nor a Unix socket"
        )));
    }
    let tcp = TcpStream::from(owned);
    let remote = tcp
        .peer_addr()
        .map_err(|error| Failure(format!("fd {fd} is not connected: {error}")))?;
    tcp.set_nodelay(true)?;
    Ok((PeerStream::Tcp(tcp), format!("tcp://{remote}")))
}

/// The URI at `uri`, which may be NULL for none.
///
/// # Safety
///
/// `uri` is NULL or a NUL-terminated string.
pub(crate) unsafe fn read_uri(uri: *const c_char) -> Result<Option<String>, Failure> {
    if uri.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL; the caller promises a NUL-terminated string.
    Ok(Some(unsafe { read_str(uri, "uri") }?.to_owned()))
}

/// Peers over `fd`, a connected TCP or Unix stream socket, with the
/// medium `peer_type` (a `PINECONE_PEER_*` number) and `zone` (NULL for
/// none). Runs the handshake first, blocking until it completes or fails
/// (within the handshake deadline, a few seconds), or until the node is
/// shut down, which ends a running handshake by shutting the socket down.
/// Returns 0 once the peering is up, or -1 on failure: not a connected
/// stream socket, a bad peer type, a failed handshake, the node shut
/// down. The peering's URI (in the peer list and the state dump) is
/// "tcp://" and the remote address, or "unix"; see
/// `pinecone_node_attach_fd_uri` to give another.
///
/// Ownership: on success the node owns `fd` (it is closed, and the node
/// keeps its own descriptor for the socket): the caller must not use or
/// close it again. On failure the caller still owns `fd` and closes it
/// when done; after a failed handshake it may have carried handshake
/// bytes.
///
/// # Safety
///
/// `node` is NULL or a live handle; `fd` is a descriptor the caller owns
/// (or negative); `zone` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_attach_fd(
    node: *mut PineconeNode,
    fd: c_int,
    peer_type: c_int,
    zone: *const c_char,
) -> c_int {
    // SAFETY: as promised by the caller; NULL is no URI.
    unsafe { pinecone_node_attach_fd_uri(node, fd, peer_type, zone, std::ptr::null()) }
}

/// As `pinecone_node_attach_fd`, with the peering's URI given by the
/// caller (NULL for the one `pinecone_node_attach_fd` gives), as the
/// reference's `ConnectionURI` option gives it: what the peer list and
/// the state dump show.
///
/// # Safety
///
/// As for `pinecone_node_attach_fd`; `uri` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_attach_fd_uri(
    node: *mut PineconeNode,
    fd: c_int,
    peer_type: c_int,
    zone: *const c_char,
    uri: *const c_char,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let peer_type = self::peer_type(peer_type)?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let zone = unsafe { read_zone(zone) }?;
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let given_uri = unsafe { read_uri(uri) }?;
        let (stream, socket_uri) = stream_of(fd)?;
        let origin = PeerOrigin {
            peer_type,
            zone,
            uri: given_uri.unwrap_or(socket_uri),
            outbound: false,
        };
        // Registered so that shutting the node down ends the handshake.
        let handshake = call.handshakes().add(&stream)?;
        let attached = call.node().attach(stream, origin);
        call.handshakes().remove(handshake);
        attached?;
        // SAFETY: the caller owns `fd` and hands it over on success; the
        // node peers over its own duplicate.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(0)
    })
}
