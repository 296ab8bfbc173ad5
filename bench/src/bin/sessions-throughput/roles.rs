//! The two processes of the built-in Rust variant: a serving node that
//! echoes session streams and a sending node that measures.

use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use pinecone_engine::wire::PublicKey;
use pinecone_transports::{Node, NodeConfig, SessionStream};

/// The protocol the bench streams use.
const PROTOCOL: &str = "bench";

/// How long the sender waits for the peering and the session.
const PATIENCE: Duration = Duration::from_secs(60);

/// Serves echo streams until killed.
pub(crate) fn serve() -> Result<(), String> {
    let node: &'static Node = Box::leak(Box::new(
        Node::random(NodeConfig::default()).map_err(|e| e.to_string())?,
    ));
    let address = node.listen_tcp("127.0.0.1:0").map_err(|e| e.to_string())?;
    node.listen_sessions(PROTOCOL).map_err(|e| e.to_string())?;
    println!("READY {} {address}", node.public_key());
    loop {
        let stream = node
            .accept_session(PROTOCOL, None)
            .map_err(|e| e.to_string())?;
        thread::spawn(move || echo(stream));
    }
}

fn echo(mut stream: SessionStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = stream.shutdown_write();
}

/// Echoes `bytes` through a stream to `key` at `address`; prints RESULT.
pub(crate) fn send(address: &str, key: &str, bytes: u64, write_size: usize) -> Result<(), String> {
    let key: [u8; 32] = hex::decode(key)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "the key is not 32 bytes".to_owned())?;
    let node = Node::random(NodeConfig::default()).map_err(|e| e.to_string())?;
    node.connect(&format!("tcp://{address}"))
        .map_err(|e| e.to_string())?;
    let stream = node
        .dial_session(PublicKey(key), PROTOCOL, Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    let stream = Arc::new(stream);
    let started = Instant::now();
    let writer = {
        let stream = Arc::clone(&stream);
        thread::spawn(move || -> std::io::Result<()> {
            let chunk: Vec<u8> = (0..write_size).map(|i| i as u8).collect();
            let mut left = bytes;
            while left > 0 {
                let n = usize::try_from(left).map_or(chunk.len(), |left| left.min(chunk.len()));
                (&*stream).write_all(&chunk[..n])?;
                left -= n as u64;
            }
            stream.shutdown_write()
        })
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut echoed = 0u64;
    loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => echoed += n as u64,
            Err(error) => return Err(error.to_string()),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    writer
        .join()
        .map_err(|_| "the writer panicked".to_owned())?
        .map_err(|e| e.to_string())?;
    if echoed != bytes {
        return Err(format!("{echoed} of {bytes} bytes came back"));
    }
    println!("RESULT {echoed} {seconds:.6}");
    Ok(())
}
