//! The deframer does not depend on how the stream is cut into reads.
//!
//! Input: one byte `n`, then `n % 16` big-endian u16 cut points (each taken
//! modulo the stream length plus one), then the stream. The stream is
//! deframed three ways: pushed to a [`Deframer`] in one piece, pushed in the
//! chunks between the cut points (draining frames after every push), and
//! split by calling [`frame_length`] repeatedly on the whole buffer. All three
//! must yield the same frames, each a slice of the stream at the right
//! offset, and end the same way: with the same bytes left over, or with the
//! same framing error. The one allowed difference is that bad magic is
//! reported as soon as the first wrong byte arrives, so a chunked read knows
//! the magic bytes only up to that one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pinecone_engine::wire::{frame_length, Deframer, ParseError, MAGIC};

/// How deframing a stream went: the lengths of the frames, in order, and
/// either the bytes left over or the error that stopped it.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<usize>,
    end: Result<usize, ParseError>,
}

fuzz_target!(|data: &[u8]| {
    let (cuts, stream) = split_input(data);
    let whole = deframe_in_chunks(stream, &[]);
    assert_eq!(whole, deframe_by_length(stream));
    let chunked = deframe_in_chunks(stream, &cuts);
    assert_eq!(chunked.frames, whole.frames);
    assert_eq!(
        chunked.end.map_err(known_part),
        whole.end.map_err(known_part)
    );
});

/// Splits the fuzzer's input into sorted cut points and the stream.
fn split_input(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&count, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let cut_bytes = (usize::from(count % 16) * 2).min(rest.len());
    let (cut_points, stream) = rest.split_at(cut_bytes);
    let mut cuts: Vec<usize> = cut_points
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_be_bytes([pair[0], pair[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    (cuts, stream)
}

/// Pushes `stream` to a deframer in the pieces between `cuts`, taking every
/// whole frame after each push.
fn deframe_in_chunks(stream: &[u8], cuts: &[usize]) -> Outcome {
    let mut deframer = Deframer::new();
    let mut frames = Vec::new();
    let mut offset = 0;
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        deframer.push(&stream[start..end]);
        start = end;
        loop {
            match deframer.next_frame() {
                Ok(Some(frame)) => {
                    assert_eq!(frame, &stream[offset..offset + frame.len()]);
                    assert_eq!(frame_length(frame), Ok(Some(frame.len())));
                    offset += frame.len();
                    frames.push(frame.len());
                }
                Ok(None) => break,
                Err(error) => return poisoned(deframer, frames, error, stream),
            }
        }
    }
    assert!(!deframer.is_poisoned());
    assert_eq!(deframer.buffered(), stream.len() - offset);
    Outcome {
        frames,
        end: Ok(deframer.buffered()),
    }
}

/// Checks that a broken deframer stays broken, holds nothing, and ignores
/// further bytes.
fn poisoned(
    mut deframer: Deframer,
    frames: Vec<usize>,
    error: ParseError,
    stream: &[u8],
) -> Outcome {
    assert!(deframer.is_poisoned());
    assert_eq!(deframer.buffered(), 0);
    deframer.push(stream);
    assert_eq!(deframer.buffered(), 0);
    assert_eq!(deframer.next_frame(), Err(error));
    Outcome {
        frames,
        end: Err(error),
    }
}

/// Splits `stream` by calling [`frame_length`] on what is left of it.
fn deframe_by_length(stream: &[u8]) -> Outcome {
    let mut frames = Vec::new();
    let mut offset = 0;
    loop {
        match frame_length(&stream[offset..]) {
            Ok(Some(len)) => {
                frames.push(len);
                offset += len;
            }
            Ok(None) => {
                return Outcome {
                    frames,
                    end: Ok(stream.len() - offset),
                }
            }
            Err(error) => {
                return Outcome {
                    frames,
                    end: Err(error),
                }
            }
        }
    }
}

/// The part of an error that does not depend on how much of the stream had
/// arrived: bad magic bytes up to and including the first wrong one.
fn known_part(error: ParseError) -> ParseError {
    match error {
        ParseError::BadMagic(magic) => {
            let wrong = magic.iter().zip(&MAGIC).position(|(got, want)| got != want);
            let known = wrong.map_or(magic.len(), |index| index + 1);
            let mut kept = [0u8; 4];
            kept[..known].copy_from_slice(&magic[..known]);
            ParseError::BadMagic(kept)
        }
        other => other,
    }
}
