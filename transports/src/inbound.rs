//! Accepting peers: each admitted connection is set up on its own
//! short-lived thread, under one deadline counted from accept.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::thread;

use tracing::{debug, info, warn};

use crate::listener::{self, Listener};
use crate::peering::{PeerOrigin, PeerStream, PeerType};
use crate::transport::{ManholeFn, PeeringSink, Transport};
use crate::websocket;

/// The zone of accepted WebSocket peers, as the reference.
const WEBSOCKET_ZONE: &str = "websocket";

/// Stack of a setup thread: the handshake and the HTTP exchange need
/// little, and hundreds may run at once.
const SETUP_STACK: usize = 256 * 1024;

pub(crate) fn listen_tcp<A: ToSocketAddrs>(
    transport: &Transport,
    address: A,
    sink: PeeringSink,
) -> io::Result<Listener> {
    let listener = listener::bind(address)?;
    let transport = transport.clone();
    let listener = Listener::spawn(
        listener,
        "pinecone-tcp-accept",
        move |stream, remote, accepted| {
            let sink = sink.clone();
            set_up(&transport, stream, remote, move |transport, stream| {
                let origin = accepted_origin(remote, "");
                let deadline = transport.setup_deadline(accepted);
                if let Ok(peering) =
                    transport.establish_before(PeerStream::Tcp(stream), origin, deadline)
                {
                    sink(peering);
                }
            });
        },
    )?;
    info!(address = %listener.local_addr(), "listening for TCP peers");
    Ok(listener)
}

pub(crate) fn listen_websocket<A: ToSocketAddrs>(
    transport: &Transport,
    address: A,
    sink: PeeringSink,
    manhole: Option<ManholeFn>,
) -> io::Result<Listener> {
    let listener = listener::bind(address)?;
    let transport = transport.clone();
    let listener = Listener::spawn(
        listener,
        "pinecone-ws-accept",
        move |stream, remote, accepted| {
            let sink = sink.clone();
            let manhole = manhole.clone();
            set_up(&transport, stream, remote, move |transport, stream| {
                let origin = accepted_origin(remote, WEBSOCKET_ZONE);
                let deadline = transport.setup_deadline(accepted);
                let manhole = manhole.filter(|_| {
                    transport.config().manhole_anywhere || remote.ip().to_canonical().is_loopback()
                });
                websocket::serve_connection(
                    transport,
                    stream,
                    origin,
                    deadline,
                    &sink,
                    manhole.as_ref(),
                );
            });
        },
    )?;
    info!(address = %listener.local_addr(), "listening for WebSocket peers");
    Ok(listener)
}

fn accepted_origin(remote: SocketAddr, zone: &str) -> PeerOrigin {
    PeerOrigin {
        peer_type: PeerType::Remote,
        zone: zone.to_owned(),
        uri: remote.to_string(),
        outbound: false,
    }
}

/// Runs `job` on a new thread if the transport admits a connection from
/// `remote`; otherwise the connection is closed at once (admission counts
/// and logs the refusal).
pub(crate) fn set_up<F>(transport: &Transport, stream: TcpStream, remote: SocketAddr, job: F)
where
    F: FnOnce(&Transport, TcpStream) + Send + 'static,
{
    let Ok(admitted) = transport.admission().admit(remote.ip()) else {
        return;
    };
    if let Err(error) = listener::prepare(&stream) {
        debug!(%remote, %error, "cannot set up an accepted connection");
        return;
    }
    let transport = transport.clone();
    let spawned = thread::Builder::new()
        .name("pinecone-peer-setup".to_owned())
        .stack_size(SETUP_STACK)
        .spawn(move || {
            let _admitted = admitted;
            job(&transport, stream);
        });
    if let Err(error) = spawned {
        warn!(%remote, %error, "cannot start a thread to set up a connection");
    }
}
