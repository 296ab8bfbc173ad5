//! Wire-layer throughput: parsing and encoding traffic frames, deframing a
//! busy stream, and verifying tree announcements one signature at a time
//! against ed25519 batch verification.

use std::hint::black_box;

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ed25519_dalek::{Signature, VerifyingKey};
use pinecone_bench::samples;
use pinecone_engine::wire::{Announcement, Deframer, Frame, TrafficRepr, MAX_FRAME_LEN};

/// Size of the stream the deframer benchmark reads.
const STREAM_LEN: usize = 1 << 20;
/// Size of each read from the stream.
const CHUNK_LEN: usize = 64 << 10;
/// Hops of the announcement the verification benchmark checks.
const ANNOUNCEMENT_HOPS: u16 = 5;

/// The traffic frames measured: a name and the frame's fields.
fn traffic_cases<'a>(small: &'a [u8], mtu: &'a [u8]) -> [(&'static str, TrafficRepr<'a>); 3] {
    [
        ("snek_64B", samples::snek_traffic(small)),
        ("snek_1280B", samples::snek_traffic(mtu)),
        ("tree_1280B", samples::tree_traffic(mtu)),
    ]
}

fn parse_traffic(c: &mut Criterion) {
    let small = vec![0x5a; samples::SMALL_PAYLOAD];
    let mtu = vec![0x3c; samples::MTU_PAYLOAD];
    let mut group = c.benchmark_group("parse_traffic");
    group.throughput(Throughput::Elements(1));
    for (name, repr) in traffic_cases(&small, &mtu) {
        let frame = samples::traffic_frame(&repr).expect("sample frame encodes");
        group.bench_with_input(BenchmarkId::from_parameter(name), &frame, |b, frame| {
            b.iter(|| Frame::parse(black_box(frame)).expect("sample frame parses"));
        });
    }
    group.finish();
}

fn encode_traffic(c: &mut Criterion) {
    let small = vec![0x5a; samples::SMALL_PAYLOAD];
    let mtu = vec![0x3c; samples::MTU_PAYLOAD];
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let mut group = c.benchmark_group("encode_traffic");
    group.throughput(Throughput::Elements(1));
    for (name, repr) in traffic_cases(&small, &mtu) {
        group.bench_with_input(BenchmarkId::from_parameter(name), &repr, |b, repr| {
            b.iter(|| black_box(repr).emit(&mut out).expect("sample frame fits"));
        });
    }
    group.finish();
}

/// Pushes `stream` through `deframer` in chunks, parsing every frame, and
/// returns the number of frames.
fn deframe_and_parse(deframer: &mut Deframer, stream: &[u8]) -> usize {
    let mut frames = 0;
    for chunk in stream.chunks(CHUNK_LEN) {
        deframer.push(chunk);
        while let Some(bytes) = deframer.next_frame().expect("sample stream is valid") {
            black_box(Frame::parse(bytes).expect("sample frame parses"));
            frames += 1;
        }
    }
    frames
}

fn deframe_stream(c: &mut Criterion) {
    let (stream, frames) = samples::mixed_stream(STREAM_LEN).expect("sample stream encodes");
    let mut deframer = Deframer::new();
    assert_eq!(deframe_and_parse(&mut deframer, &stream), frames);
    println!("mixed stream: {} bytes in {frames} frames", stream.len());
    let mut group = c.benchmark_group("deframe_1MiB_mixed");
    let units = [
        ("bytes", Throughput::Bytes(stream.len() as u64)),
        ("frames", Throughput::Elements(frames as u64)),
    ];
    for (name, throughput) in units {
        group.throughput(throughput);
        group.bench_function(name, |b| {
            b.iter(|| deframe_and_parse(&mut deframer, black_box(&stream)));
        });
    }
    group.finish();
}

fn verify_announcement(c: &mut Criterion) {
    let (payload, peer) = samples::announcement(ANNOUNCEMENT_HOPS).expect("sample signs");
    let announcement = Announcement::parse(&payload).expect("sample parses");
    announcement.check(&peer).expect("sample verifies");
    let mut group = c.benchmark_group("verify_5_hop_announcement");
    group.throughput(Throughput::Elements(1));
    group.bench_function("check_one_by_one", |b| {
        b.iter(|| black_box(&announcement).check(black_box(&peer)))
    });
    group.bench_function("ed25519_verify_batch", |b| {
        b.iter(|| verify_batch(black_box(&announcement)))
    });
    group.finish();
}

/// Verifies every signature of `announcement` in one ed25519 batch,
/// decoding keys and signatures from the payload as `check` does.
fn verify_batch(announcement: &Announcement<'_>) -> bool {
    let mut messages = Vec::with_capacity(announcement.len());
    let mut signatures = Vec::with_capacity(announcement.len());
    let mut keys = Vec::with_capacity(announcement.len());
    for entry in announcement.entries() {
        let Ok(key) = VerifyingKey::from_bytes(entry.signer.as_bytes()) else {
            return false;
        };
        messages.push(entry.signed);
        signatures.push(Signature::from_bytes(entry.signature));
        keys.push(key);
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// The benchmarks of this file, with Criterion's settings from the command
/// line (what `criterion_group!` would generate, documented).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    parse_traffic(&mut criterion);
    encode_traffic(&mut criterion);
    deframe_stream(&mut criterion);
    verify_announcement(&mut criterion);
}

criterion_main!(benches);
