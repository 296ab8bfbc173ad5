//! One peering as a driver holds it: its stream, its worker slot, what the
//! edge-triggered poller last said about it, and, for an accepted
//! WebSocket, the framing the driver speaks on it.

use std::io::{self, IoSlice, Read};

use pinecone_engine::control::Millis;
use pinecone_engine::forward::{SlotId, Worker};

use super::command::{CloseReason, PeeringId};
use super::sendmsg::send_vectored;
use crate::peering::PeerStream;
use crate::websocket::codec::{binary_header, pong_frame, Control, Decoder, CLOSE_FRAME};

/// How many reads one peering gets per round before the others' turn.
const READS_PER_ROUND: usize = 4;

/// The most stream bytes one WebSocket frame we send carries.
const MAX_FRAME_PAYLOAD: usize = 64 * 1024;

/// A peering attached to a driver's worker.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: PeeringId,
    pub(crate) slot: SlotId,
    pub(crate) stream: PeerStream,
    /// The socket may have bytes to read (not yet read to `WouldBlock`).
    pub(crate) readable: bool,
    /// The socket may take more bytes (no `WouldBlock` since it was last
    /// reported writable).
    pub(crate) writable: bool,
    /// The worker (or the framing) has output waiting for this peering.
    pub(crate) pending_output: bool,
    /// Listed among the connections to read this round.
    pub(crate) listed_to_read: bool,
    /// Listed among the connections to write this round.
    pub(crate) listed_to_write: bool,
    framing: Framing,
}

/// How stream bytes are carried on the socket.
#[derive(Debug)]
enum Framing {
    /// As they are.
    Raw,
    /// In WebSocket frames, as the server side.
    WebSocket(Box<WebSocketLink>),
}

/// The framing state of an accepted WebSocket.
#[derive(Debug, Default)]
struct WebSocketLink {
    decoder: Decoder,
    /// Raw bytes read but not decoded yet (left by the handshake, or past
    /// a control frame).
    raw: Vec<u8>,
    /// Stream bytes decoded during the handshake and not yet handed on.
    decoded: Vec<u8>,
    /// The header of the data frame being written.
    header: [u8; 10],
    header_len: usize,
    header_sent: usize,
    /// Stream bytes of the data frame being written still to go.
    payload_left: usize,
    /// Control frames (pongs) to write at the next frame boundary.
    control_out: Vec<u8>,
}

impl WebSocketLink {
    /// Whether bytes are waiting in the link itself, to be decoded without
    /// reading the socket.
    fn has_input(&self) -> bool {
        !self.raw.is_empty() || !self.decoded.is_empty()
    }

    /// Whether the next byte written starts a new frame.
    fn at_frame_boundary(&self) -> bool {
        self.header_sent == self.header_len && self.payload_left == 0
    }
}

impl Connection {
    /// A connection that is assumed readable and writable until the socket
    /// says otherwise. An accepted WebSocket carries on decoding where its
    /// handshake left off.
    pub(crate) fn new(id: PeeringId, slot: SlotId, stream: PeerStream) -> Connection {
        let (stream, framing) = match stream {
            PeerStream::WebSocket(websocket) => {
                let parts = websocket.into_parts();
                let link = WebSocketLink {
                    decoder: parts.decoder,
                    raw: parts.raw,
                    decoded: parts.decoded,
                    ..WebSocketLink::default()
                };
                (
                    PeerStream::Tcp(parts.tcp),
                    Framing::WebSocket(Box::new(link)),
                )
            }
            stream => (stream, Framing::Raw),
        };
        Connection {
            id,
            slot,
            stream,
            readable: true,
            writable: true,
            pending_output: false,
            listed_to_read: false,
            listed_to_write: false,
            framing,
        }
    }

    /// Whether there may be input to take: the socket was not read dry, or
    /// the framing holds bytes.
    pub(crate) fn has_input(&self) -> bool {
        self.readable
            || match &self.framing {
                Framing::Raw => false,
                Framing::WebSocket(link) => link.has_input(),
            }
    }

    /// Whether a read would make progress now.
    pub(crate) fn should_read(&self, worker: &Worker) -> bool {
        self.has_input() && worker.wants_read(self.slot)
    }

    /// Reads into the worker's input buffer until the socket is drained,
    /// the buffer is full or this peering had its share of the round.
    pub(crate) fn read_into(&mut self, worker: &mut Worker) -> Result<(), CloseReason> {
        match &mut self.framing {
            Framing::Raw => read_raw(&self.stream, &mut self.readable, self.slot, worker),
            Framing::WebSocket(link) => {
                let mut answered = false;
                let result = read_websocket(
                    &self.stream,
                    &mut self.readable,
                    self.slot,
                    worker,
                    link,
                    &mut answered,
                );
                self.pending_output |= answered;
                result
            }
        }
    }

    /// Tells the peer the peering is over where the framing has a way to (a
    /// WebSocket close frame, unless a frame is half written); best effort,
    /// as the connection is closed right after.
    pub(crate) fn say_goodbye(&self) {
        if let Framing::WebSocket(link) = &self.framing {
            if link.at_frame_boundary() {
                let _ = send_vectored(&self.stream, &[IoSlice::new(&CLOSE_FRAME)]);
            }
        }
    }

    /// Writes the worker's output for this peering, one vectored write at a
    /// time, until it is all written or the socket is full.
    pub(crate) fn write_from(
        &mut self,
        worker: &mut Worker,
        now: Millis,
    ) -> Result<(), CloseReason> {
        while self.writable {
            let step = match &mut self.framing {
                Framing::Raw => write_raw(&self.stream, self.slot, worker, now),
                Framing::WebSocket(link) => {
                    write_websocket(&self.stream, self.slot, worker, link, now)
                }
            };
            match step {
                Ok(WriteStep::Done) => {
                    self.pending_output = false;
                    return Ok(());
                }
                Ok(WriteStep::More) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(error) => return Err(CloseReason::Io(error)),
            }
        }
        Ok(())
    }
}

/// What one write did.
enum WriteStep {
    /// Nothing is left to write.
    Done,
    /// Bytes went out; there may be more.
    More,
}

fn read_raw(
    stream: &PeerStream,
    readable: &mut bool,
    slot: SlotId,
    worker: &mut Worker,
) -> Result<(), CloseReason> {
    for _ in 0..READS_PER_ROUND {
        let buffer = worker.read_buffer(slot);
        if buffer.is_empty() {
            return Ok(());
        }
        match read_socket(stream, buffer) {
            Ok(Some(n)) if n > 0 => worker.filled(slot, n),
            nothing => return stop_reading(nothing, readable, slot, worker),
        }
    }
    Ok(())
}

/// One read: `Some(n)` bytes (0 at the end of the stream), `None` when the
/// socket has nothing now.
fn read_socket(stream: &PeerStream, buffer: &mut [u8]) -> Result<Option<usize>, CloseReason> {
    loop {
        match (&*stream).read(buffer) {
            Ok(n) => return Ok(Some(n)),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(CloseReason::Io(error)),
        }
    }
}

/// Ends a peering's reads for this round after a read that brought no
/// bytes: tells the worker (which gives back the empty buffer it lent),
/// notes a drained socket, and turns the end of the stream into its close
/// reason.
fn stop_reading(
    outcome: Result<Option<usize>, CloseReason>,
    readable: &mut bool,
    slot: SlotId,
    worker: &mut Worker,
) -> Result<(), CloseReason> {
    worker.filled(slot, 0);
    match outcome {
        Ok(None) => {
            *readable = false;
            Ok(())
        }
        Ok(Some(_)) => Err(CloseReason::EndOfStream),
        Err(error) => Err(error),
    }
}

/// Reads WebSocket frames and hands the stream bytes they carry to the
/// worker, decoding in the worker's own buffer. A ping queues its pong
/// (`answered`); a close ends the peering.
fn read_websocket(
    stream: &PeerStream,
    readable: &mut bool,
    slot: SlotId,
    worker: &mut Worker,
    link: &mut WebSocketLink,
    answered: &mut bool,
) -> Result<(), CloseReason> {
    for _ in 0..READS_PER_ROUND {
        let buffer = worker.read_buffer(slot);
        if buffer.is_empty() {
            return Ok(());
        }
        if !link.decoded.is_empty() {
            let n = buffer.len().min(link.decoded.len());
            buffer[..n].copy_from_slice(&link.decoded[..n]);
            link.decoded.drain(..n);
            worker.filled(slot, n);
            continue;
        }
        let raw_len = if link.raw.is_empty() {
            match read_socket(stream, buffer) {
                Ok(Some(n)) if n > 0 => n,
                nothing => return stop_reading(nothing, readable, slot, worker),
            }
        } else {
            let n = buffer.len().min(link.raw.len());
            buffer[..n].copy_from_slice(&link.raw[..n]);
            link.raw.drain(..n);
            n
        };
        let raw = &mut buffer[..raw_len];
        let decoded = match link.decoder.decode_in_place(raw) {
            Ok(decoded) => decoded,
            Err(error) => {
                worker.filled(slot, 0);
                return Err(CloseReason::WebSocket(error));
            }
        };
        if decoded.consumed < raw_len {
            let rest = raw[decoded.consumed..].to_vec();
            link.raw.splice(0..0, rest);
        }
        worker.filled(slot, decoded.produced);
        match decoded.control {
            Some(Control::Ping(payload)) => {
                link.control_out.extend_from_slice(&pong_frame(&payload));
                *answered = true;
            }
            Some(Control::Close) => return Err(CloseReason::EndOfStream),
            None => {}
        }
    }
    Ok(())
}

fn write_raw(
    stream: &PeerStream,
    slot: SlotId,
    worker: &mut Worker,
    now: Millis,
) -> io::Result<WriteStep> {
    let chunks = worker.output(slot);
    if chunks.is_empty() {
        return Ok(WriteStep::Done);
    }
    match send_vectored(stream, &chunks.io_slices())? {
        0 => Err(io::ErrorKind::WriteZero.into()),
        n if worker.written(slot, n, now) == 0 => Ok(WriteStep::Done),
        _ => Ok(WriteStep::More),
    }
}

/// Writes the worker's output in binary frames: the header and the
/// payload go out in one vectored write, straight from the worker's
/// queue. Control frames go out between data frames.
fn write_websocket(
    stream: &PeerStream,
    slot: SlotId,
    worker: &mut Worker,
    link: &mut WebSocketLink,
    now: Millis,
) -> io::Result<WriteStep> {
    if link.at_frame_boundary() {
        if !link.control_out.is_empty() {
            let written = send_vectored(stream, &[IoSlice::new(&link.control_out)])?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            link.control_out.drain(..written);
            return Ok(WriteStep::More);
        }
        let waiting = worker.output(slot).len();
        if waiting == 0 {
            return Ok(WriteStep::Done);
        }
        let len = waiting.min(MAX_FRAME_PAYLOAD);
        (link.header, link.header_len) = binary_header(len);
        link.header_sent = 0;
        link.payload_left = len;
    }
    let chunks = worker.output(slot);
    let header = link
        .header
        .get(link.header_sent..link.header_len)
        .unwrap_or_default();
    let mut slices = [
        IoSlice::new(header),
        IoSlice::new(&[]),
        IoSlice::new(&[]),
        IoSlice::new(&[]),
    ];
    let mut room = link.payload_left;
    for (slice, part) in slices.iter_mut().skip(1).zip(chunks.parts()) {
        let take = part.len().min(room);
        *slice = IoSlice::new(part.get(..take).unwrap_or_default());
        room -= take;
    }
    let written = send_vectored(stream, &slices)?;
    if written == 0 {
        return Err(io::ErrorKind::WriteZero.into());
    }
    let header_part = written.min(header.len());
    link.header_sent += header_part;
    let payload_part = written - header_part;
    link.payload_left -= payload_part;
    if payload_part > 0 {
        worker.written(slot, payload_part, now);
    }
    Ok(WriteStep::More)
}
