"""The sans-I/O WebSocket frame codec: server frames split at every point and fed a byte at a
time, fragmentation with control frames in between, length boundaries, masked round trips,
PING/CLOSE answers and protocol errors."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nestpy_mqtt._ws_frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    FrameError,
    FrameReader,
    close_frame,
    encode_frame,
    mask,
)

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def server_frame(
    payload: bytes, opcode: int = BINARY, *, final: bool = True, key: bytes | None = None
) -> bytes:
    """A frame as a server writes it (unmasked unless ``key``), shortest length form."""
    size = len(payload)
    first = (0x80 if final else 0) | opcode
    bit = 0x80 if key is not None else 0
    if size < 126:
        head = bytes((first, bit | size))
    elif size < 65536:
        head = bytes((first, bit | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((first, bit | 127)) + size.to_bytes(8, "big")
    if key is None:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Parse frames a client sent: (first byte, unmasked payload); every one must be masked."""
    frames = []
    pos = 0
    while pos < len(data):
        first, second = data[pos], data[pos + 1]
        assert second & 0x80, "client frames are masked"
        size, pos = second & 0x7F, pos + 2
        if size == 126:
            size, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif size == 127:
            size, pos = int.from_bytes(data[pos : pos + 8], "big"), pos + 8
        key, pos = data[pos : pos + 4], pos + 4
        body = bytes(b ^ key[i % 4] for i, b in enumerate(data[pos : pos + size]))
        frames.append((first, body))
        pos += size
    return frames


def feed(reader: FrameReader, chunks: list[bytes]) -> bytes:
    return b"".join(reader.receive(chunk) for chunk in chunks)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, bytes, list[bytes]]:
    """(wire bytes, the payload they carry, the PING payloads in order): messages, some
    fragmented, some frames masked, PING/PONG frames between and inside fragmented ones."""
    wire, payload, pings = [], [], []
    for _ in range(draw(st.integers(0, 5))):
        parts = draw(st.lists(st.binary(max_size=300), min_size=1, max_size=4))
        for i, part in enumerate(parts):
            if draw(st.booleans()):
                ping = draw(st.binary(max_size=125))
                if draw(st.booleans()):
                    wire.append(server_frame(ping, PING))
                    pings.append(ping)
                else:
                    wire.append(server_frame(ping, PONG))
            key = draw(st.none() | st.binary(min_size=4, max_size=4))
            opcode = BINARY if i == 0 else CONTINUATION
            wire.append(server_frame(part, opcode, final=i == len(parts) - 1, key=key))
            payload.append(part)
    return b"".join(wire), b"".join(payload), pings


def pongs(reader: FrameReader) -> list[bytes]:
    frames = client_frames(reader.data_to_send())
    assert all(first == 0x80 | PONG for first, _ in frames)
    return [body for _, body in frames]


@settings(max_examples=200)
@given(streams(), st.lists(st.integers(0, 10_000), max_size=8))
def test_any_split_of_a_stream_gives_its_payload_and_answers_every_ping(
    stream: tuple[bytes, bytes, list[bytes]], cuts: list[int]
) -> None:
    wire, payload, pings = stream
    reader = FrameReader()
    assert feed(reader, split(wire, cuts)) == payload
    assert pongs(reader) == pings
    assert not reader.closed


@settings(max_examples=40)
@given(streams())
def test_every_single_split_point_and_one_byte_feeds(
    stream: tuple[bytes, bytes, list[bytes]],
) -> None:
    wire, payload, pings = stream
    for cut in range(len(wire) + 1):
        reader = FrameReader()
        assert feed(reader, [wire[:cut], wire[cut:]]) == payload
        assert pongs(reader) == pings
    reader = FrameReader()
    assert feed(reader, [wire[i : i + 1] for i in range(len(wire))]) == payload
    assert pongs(reader) == pings


@pytest.mark.parametrize("size", LENGTHS)
def test_length_boundaries_in_both_directions(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    frame = encode_frame(payload)
    form = 2 if size < 126 else 4 if size < 65536 else 10
    assert len(frame) == form + 4 + size  # shortest length form, then the mask key
    assert client_frames(frame) == [(0x80 | BINARY, payload)]
    for wire in (server_frame(payload), frame):  # unmasked (server) and masked frames
        reader = FrameReader()
        assert feed(reader, [wire[:3], wire[3:11], wire[11:]]) == payload
        reader = FrameReader()
        assert reader.receive(wire) == payload


@example(b"\x00" * 8, 0)
@given(st.binary(max_size=2000), st.integers(0, 3))
def test_mask_is_its_own_inverse_and_matches_the_rfc(data: bytes, offset: int) -> None:
    key = b"\x01\x80\xfe\x37"
    expected = bytes(b ^ key[(i + offset) % 4] for i, b in enumerate(data))
    assert mask(data, key, offset) == expected
    assert mask(mask(data, key, offset), key, offset) == data


@given(st.binary(max_size=70_000))
@settings(max_examples=30)
def test_masked_round_trip_with_a_fresh_key_each_frame(payload: bytes) -> None:
    first, second = encode_frame(payload), encode_frame(payload)
    if len(payload) >= 8:
        assert first != second  # fresh keys (a clash of two random 32-bit keys: 2**-32)
    reader = FrameReader()
    assert reader.receive(first + second) == payload + payload


def test_close_is_answered_with_its_code_and_ends_the_stream() -> None:
    reader = FrameReader()
    wire = server_frame(b"mqtt") + server_frame((1001).to_bytes(2, "big") + b"bye", CLOSE)
    assert reader.receive(wire + server_frame(b"after")) == b"mqtt"
    assert reader.closed
    assert client_frames(reader.data_to_send()) == [(0x80 | CLOSE, (1001).to_bytes(2, "big"))]
    assert reader.receive(server_frame(b"more")) == b""
    assert reader.data_to_send() == b""
    empty = FrameReader()
    assert empty.receive(server_frame(b"", CLOSE)) == b""
    assert client_frames(empty.data_to_send()) == [(0x80 | CLOSE, (1000).to_bytes(2, "big"))]
    assert client_frames(close_frame()) == [(0x80 | CLOSE, b"\x03\xe8")]


@pytest.mark.parametrize(
    ("wire", "text"),
    [
        (server_frame(b"{}", TEXT), "text frame"),
        (bytes((0xC2, 0)), "reserved bits"),
        (server_frame(b"x", CONTINUATION), "continuation frame without"),
        (server_frame(b"a", final=False) + server_frame(b"b"), "binary frame inside"),
        (server_frame(b"x" * 126, PING), "longer than 125"),
        (server_frame(b"x", PING, final=False), "fragmented"),
        (server_frame(b"x", 0x3), "unknown data opcode 0x3"),
        (server_frame(b"x", 0xB), "unknown control opcode 0xb"),
        (bytes((0x82, 127)) + (1 << 63).to_bytes(8, "big"), "2\\*\\*63"),
    ],
)
def test_protocol_errors(wire: bytes, text: str) -> None:
    with pytest.raises(FrameError, match=text) as info:
        FrameReader().receive(wire)
    assert info.value.code == (1003 if "text" in text else 1002)
