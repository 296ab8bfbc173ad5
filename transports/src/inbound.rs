//! Accepting peers: each accepted connection is set up on its own thread,
//! with a bound on how many are set up at once.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;

use tracing::{info, warn};

use crate::listener::Listener;
use crate::peering::{PeerOrigin, PeerStream, PeerType};
use crate::transport::{ManholeFn, PeeringSink, Transport};
use crate::websocket;

/// The zone of accepted WebSocket peers, as the reference.
const WEBSOCKET_ZONE: &str = "websocket";

pub(crate) fn listen_tcp<A: ToSocketAddrs>(
    transport: &Transport,
    address: A,
    sink: PeeringSink,
) -> io::Result<Listener> {
    let listener = TcpListener::bind(address)?;
    let transport = transport.clone();
    let listener = Listener::spawn(listener, "pinecone-tcp-accept", move |stream, remote| {
        let sink = sink.clone();
        set_up(&transport, stream, remote, move |transport, stream| {
            let origin = accepted_origin(remote, "");
            if let Ok(peering) = transport.establish(PeerStream::Tcp(stream), origin) {
                sink(peering);
            }
        });
    })?;
    info!(address = %listener.local_addr(), "listening for TCP peers");
    Ok(listener)
}

pub(crate) fn listen_websocket<A: ToSocketAddrs>(
    transport: &Transport,
    address: A,
    sink: PeeringSink,
    manhole: Option<ManholeFn>,
) -> io::Result<Listener> {
    let listener = TcpListener::bind(address)?;
    let transport = transport.clone();
    let listener = Listener::spawn(listener, "pinecone-ws-accept", move |stream, remote| {
        let sink = sink.clone();
        let manhole = manhole.clone();
        set_up(&transport, stream, remote, move |transport, stream| {
            let origin = accepted_origin(remote, WEBSOCKET_ZONE);
            websocket::serve_connection(transport, stream, origin, &sink, manhole.as_ref());
        });
    })?;
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

/// Runs `job` on a new thread holding one of the transport's handshake
/// slots, or closes the connection when none is free.
fn set_up<F>(transport: &Transport, stream: TcpStream, remote: SocketAddr, job: F)
where
    F: FnOnce(&Transport, TcpStream) + Send + 'static,
{
    let Some(slot) = transport.slots().try_acquire() else {
        warn!(
            %remote, limit = transport.slots().limit(),
            "too many connections being set up; closing this one"
        );
        return;
    };
    let transport = transport.clone();
    let spawned = thread::Builder::new()
        .name("pinecone-peer-setup".to_owned())
        .spawn(move || {
            let _slot = slot;
            job(&transport, stream);
        });
    if let Err(error) = spawned {
        warn!(%remote, %error, "cannot start a thread to set up a connection");
    }
}
