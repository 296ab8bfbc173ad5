#!/usr/bin/env python3
"""Seeds the fuzz corpora from the Go reference's golden vectors.

Reads engine/tests/data/go-reference-v1.json and writes every valid and
invalid frame, announcement payload, handshake and seed, and concatenated
streams, into fuzz/corpus/<target>/, each file named by the SHA-1 of its
bytes (the way libFuzzer names corpus entries), so that running it again adds
nothing twice. Python 3 standard library only.

Usage: python3 fuzz/seed-corpus.py [corpus directory, default fuzz/corpus]
"""

import hashlib
import json
import pathlib
import struct
import sys

FUZZ_DIR = pathlib.Path(__file__).resolve().parent
VECTORS = FUZZ_DIR.parent / "engine" / "tests" / "data" / "go-reference-v1.json"

# The announcement target's mode byte: bit 0 set means the 32-byte key of the
# peer the announcement came from follows it.
FROM_LAST_SIGNER = b"\x00"
FROM_GIVEN_KEY = b"\x01"


def valid_frames(vectors):
    """Every valid frame, in file order (announcement stages included)."""
    frames = []
    for frame in vectors["frames"]:
        if "stages" in frame:
            frames += [bytes.fromhex(s["frame_hex"]) for s in frame["stages"]]
        else:
            frames.append(bytes.fromhex(frame["hex"]))
    return frames


def invalid_frames(vectors):
    return [bytes.fromhex(f["hex"]) for f in vectors["frames_invalid"]]


def announcement_inputs(vectors):
    """Announcement-target inputs: a mode byte, maybe a key, the payload."""
    keys = {name: bytes.fromhex(k["public"]) for name, k in vectors["keys"].items()}
    inputs = []
    for frame in vectors["frames"]:
        for stage in frame.get("stages", []):
            inputs.append(FROM_LAST_SIGNER + bytes.fromhex(stage["payload_hex"]))
    for case in vectors["announcements_invalid"]:
        payload = bytes.fromhex(case["payload_hex"])
        if "from" in case:
            inputs.append(FROM_GIVEN_KEY + keys[case["from"]] + payload)
        else:
            inputs.append(FROM_LAST_SIGNER + payload)
    return inputs


def handshake_inputs(vectors):
    """The reference's handshake, and each key seed on its own."""
    handshake = bytes.fromhex(vectors["handshake"]["hex"])
    seeds = [bytes.fromhex(k["seed"]) for k in vectors["keys"].values()]
    return [handshake] + seeds


def deframer_inputs(vectors):
    """Deframer-target inputs: a cut count, big-endian u16 cuts, the stream.

    The streams are all valid frames back to back, alone and followed by each
    invalid frame; each is given uncut and cut at a few places.
    """
    valid = b"".join(valid_frames(vectors))
    streams = [valid] + [valid + bad for bad in invalid_frames(vectors)]
    inputs = []
    for stream in streams:
        inputs.append(b"\x00" + stream)
        cuts = [1, 7, 10, 11, len(stream) // 2, len(stream) - 3]
        cut_bytes = b"".join(struct.pack(">H", cut) for cut in cuts)
        inputs.append(bytes([len(cuts)]) + cut_bytes + stream)
    return inputs


def write_corpus(directory, inputs):
    directory.mkdir(parents=True, exist_ok=True)
    for data in inputs:
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{directory}: {len(inputs)} seeds")


def main():
    corpus = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else FUZZ_DIR / "corpus"
    vectors = json.loads(VECTORS.read_text())
    frames = valid_frames(vectors) + invalid_frames(vectors)
    write_corpus(corpus / "frame_parse", frames)
    write_corpus(corpus / "round_trip", frames)
    write_corpus(corpus / "deframer_split", deframer_inputs(vectors))
    write_corpus(corpus / "announcement", announcement_inputs(vectors))
    write_corpus(corpus / "handshake", handshake_inputs(vectors))


if __name__ == "__main__":
    main()
