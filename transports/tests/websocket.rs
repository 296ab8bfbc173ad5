//! WebSocket peerings: the server, the client, the bridge and the manhole.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{channel_sink, key, pattern, transport, PATIENCE};
use ed25519_dalek::SigningKey;
use pinecone_engine::wire::{Handshake, PublicKey, HANDSHAKE_LEN};
use pinecone_transports::{ManholeFn, PeerStream, PeerType, PeerUri, Peering};
use tungstenite::{Bytes, Message, WebSocket};

/// A plain tungstenite client connected to `path` on `address`.
fn raw_client(address: SocketAddr, path: &str) -> WebSocket<TcpStream> {
    let tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let (websocket, _) = tungstenite::client(format!("ws://{address}{path}"), tcp).unwrap();
    websocket
}

/// Reads binary messages until `len` bytes have arrived; returns them and
/// the number of messages they came in.
fn read_messages<S: Read + Write>(websocket: &mut WebSocket<S>, len: usize) -> (Vec<u8>, usize) {
    let mut received = Vec::with_capacity(len);
    let mut messages = 0;
    while received.len() < len {
        match websocket.read().unwrap() {
            Message::Binary(payload) => {
                assert!(
                    payload.len() <= 64 * 1024,
                    "message of {} bytes",
                    payload.len()
                );
                received.extend_from_slice(&payload);
                messages += 1;
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
    assert_eq!(received.len(), len, "more bytes than expected");
    (received, messages)
}

/// Does the peering handshake by hand over raw messages, sending ours in
/// two messages; returns the key the other side presented.
fn raw_handshake<S: Read + Write>(websocket: &mut WebSocket<S>, ours: &SigningKey) -> PublicKey {
    let bytes = Handshake::new(ours).as_bytes().to_vec();
    websocket
        .send(Message::Binary(Bytes::copy_from_slice(&bytes[..50])))
        .unwrap();
    websocket
        .send(Message::Binary(Bytes::copy_from_slice(&bytes[50..])))
        .unwrap();
    let (theirs, _) = read_messages(websocket, HANDSHAKE_LEN);
    Handshake::from_bytes(&theirs)
        .unwrap()
        .verify(&PublicKey::of(ours))
        .unwrap()
}

fn listen(
    seed: u8,
    manhole: Option<ManholeFn>,
) -> (
    pinecone_transports::Listener,
    std::sync::mpsc::Receiver<Peering>,
) {
    let (sink, accepted) = channel_sink();
    let listener = transport(seed)
        .listen_websocket("127.0.0.1:0", sink, manhole)
        .unwrap();
    (listener, accepted)
}

#[test]
fn transports_peer_over_websocket_and_carry_a_mebibyte_each_way() {
    let (listener, accepted) = listen(1, None);
    let uri: PeerUri = format!("ws://{}/", listener.local_addr()).parse().unwrap();
    let dialled = transport(2).dial(&uri, "static").unwrap();
    let accepted = accepted.recv_timeout(PATIENCE).unwrap();

    assert_eq!(dialled.public_key, PublicKey::of(&key(1)));
    assert_eq!(accepted.public_key, PublicKey::of(&key(2)));
    assert_eq!(accepted.origin.zone, "websocket");
    assert_eq!(accepted.origin.peer_type, PeerType::Remote);
    assert!(!accepted.origin.outbound && dialled.origin.outbound);
    assert_eq!(dialled.origin.uri, uri.to_string());
    assert!(matches!(dialled.stream, PeerStream::Unix(_)));
    assert!(matches!(accepted.stream, PeerStream::WebSocket(_)));

    // An accepted WebSocket is read and written whole (its framing state
    // goes with it), so each direction runs in turn.
    let there = pattern(10, 1 << 20);
    let back = pattern(11, 1 << 20);
    let writer = dialled.stream.try_clone().unwrap();
    let sending = {
        let there = there.clone();
        thread::spawn(move || {
            let mut writer = writer;
            writer.write_all(&there).unwrap();
        })
    };
    let mut accepted_stream = accepted.stream;
    let mut received = vec![0u8; there.len()];
    accepted_stream.read_exact(&mut received).unwrap();
    sending.join().unwrap();
    assert!(received == there, "client to server bytes differ");

    let mut reader = dialled.stream;
    let receiving = thread::spawn(move || {
        let mut received = vec![0u8; 1 << 20];
        reader.read_exact(&mut received).unwrap();
        received
    });
    accepted_stream.write_all(&back).unwrap();
    assert!(
        receiving.join().unwrap() == back,
        "server to client bytes differ"
    );
}

#[test]
fn stream_bytes_cross_as_binary_messages_in_both_directions() {
    let (listener, accepted) = listen(3, None);
    let mut client = raw_client(listener.local_addr(), "/");
    assert_eq!(raw_handshake(&mut client, &key(4)), PublicKey::of(&key(3)));
    let mut peering = accepted.recv_timeout(PATIENCE).unwrap();
    assert_eq!(peering.public_key, PublicKey::of(&key(4)));

    // Client to peering: 1 MiB in messages of uneven sizes, concatenated.
    let data = pattern(20, 1 << 20);
    let sender = {
        let data = data.clone();
        thread::spawn(move || {
            let mut offset = 0;
            let mut messages = 0;
            while offset < data.len() {
                let len = (1 + (messages * 7919) % 9000).min(data.len() - offset);
                let chunk = Bytes::copy_from_slice(&data[offset..offset + len]);
                client.write(Message::Binary(chunk)).unwrap();
                offset += len;
                messages += 1;
            }
            client.flush().unwrap();
            (client, messages)
        })
    };
    let mut received = vec![0u8; data.len()];
    peering.stream.read_exact(&mut received).unwrap();
    assert!(received == data, "bytes differ after concatenation");
    let (mut client, sent_messages) = sender.join().unwrap();
    assert!(sent_messages > 100);

    // Peering to client: a 1 MiB stream arrives as several binary messages.
    let data = pattern(21, 1 << 20);
    let writer = {
        let mut stream = peering.stream;
        let data = data.clone();
        thread::spawn(move || stream.write_all(&data).unwrap())
    };
    let (received, messages) = read_messages(&mut client, data.len());
    writer.join().unwrap();
    assert!(received == data, "bytes differ");
    assert!(messages >= 16, "1 MiB came in only {messages} messages");
}

#[test]
fn upgrades_are_accepted_on_any_path_but_the_manhole() {
    let (listener, accepted) = listen(5, None);
    let mut client = raw_client(listener.local_addr(), "/some/path?x=1");
    assert_eq!(raw_handshake(&mut client, &key(6)), PublicKey::of(&key(5)));
    assert_eq!(
        accepted.recv_timeout(PATIENCE).unwrap().public_key,
        PublicKey::of(&key(6))
    );
}

#[test]
fn a_text_message_ends_the_peering() {
    let (listener, accepted) = listen(7, None);
    let mut client = raw_client(listener.local_addr(), "/");
    raw_handshake(&mut client, &key(8));
    let mut peering = accepted.recv_timeout(PATIENCE).unwrap();
    client.send(Message::text("hello")).unwrap();
    peering.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 16];
    let error = peering.stream.read(&mut buf).expect_err("a text message");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");
}

#[test]
fn closing_either_side_closes_the_other() {
    let (listener, accepted) = listen(9, None);

    // The WebSocket peer closes: the peering's stream reaches its end.
    let mut client = raw_client(listener.local_addr(), "/");
    raw_handshake(&mut client, &key(10));
    let mut peering = accepted.recv_timeout(PATIENCE).unwrap();
    client.close(None).unwrap();
    peering.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(peering.stream.read(&mut buf).unwrap(), 0);

    // The peering is dropped: the WebSocket peer sees its connection end.
    let mut client = raw_client(listener.local_addr(), "/");
    raw_handshake(&mut client, &key(11));
    drop(accepted.recv_timeout(PATIENCE).unwrap());
    loop {
        match client.read() {
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => break,
            Ok(other) => panic!("unexpected message {other:?}"),
            Err(error) => {
                assert!(
                    !matches!(&error, tungstenite::Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock),
                    "the connection did not end: {error}"
                );
                break;
            }
        }
    }
}

/// Sends one HTTP request and returns the status line, the headers and
/// the body.
fn http_get(address: SocketAddr, request: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body.to_owned(),
    )
}

#[test]
fn the_manhole_serves_the_callbacks_json() {
    let manhole: ManholeFn = Arc::new(|| r#"{"public_key":"abc","peers":{}}"#.to_owned());
    let (listener, _accepted) = listen(12, Some(manhole));
    let (status, headers, body) = http_get(
        listener.local_addr(),
        "GET /manhole HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    assert!(
        headers.contains(&format!("content-length: {}", body.len())),
        "{headers}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["public_key"], "abc");
}

#[test]
fn everything_else_is_refused_over_http() {
    let (listener, _accepted) = listen(13, None);
    let address = listener.local_addr();
    let cases = [
        ("GET /manhole HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("GET /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (
            "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
    ];
    for (request, expected) in cases {
        let (status, _, _) = http_get(address, request);
        assert_eq!(status, expected, "{request:?}");
    }
}

#[test]
fn a_slow_http_client_is_dropped_at_the_deadline() {
    let (sink, _accepted) = channel_sink();
    let listener = common::impatient_transport(14, Duration::from_millis(200))
        .listen_websocket("127.0.0.1:0", sink, None)
        .unwrap();
    let mut stream = TcpStream::connect(listener.local_addr()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "no response to an incomplete request");
}

#[test]
fn a_websocket_peer_that_never_sends_its_handshake_is_dropped_after_the_deadline() {
    let deadline = Duration::from_millis(200);
    let (sink, accepted) = channel_sink();
    let listener = common::impatient_transport(15, deadline)
        .listen_websocket("127.0.0.1:0", sink, None)
        .unwrap();
    let mut client = raw_client(listener.local_addr(), "/");
    let start = std::time::Instant::now();
    let (theirs, _) = read_messages(&mut client, HANDSHAKE_LEN);
    assert_eq!(
        Handshake::from_bytes(&theirs).unwrap().public_key(),
        PublicKey::of(&key(15))
    );
    let closed = loop {
        match client.read() {
            Ok(Message::Close(_)) | Err(_) => break start.elapsed(),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(other) => panic!("unexpected message {other:?}"),
        }
    };
    assert!(
        closed < Duration::from_secs(5),
        "dropped late, after {closed:?}"
    );
    assert!(accepted.try_recv().is_err(), "no peering was delivered");
}
