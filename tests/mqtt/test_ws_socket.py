"""``WsSocket`` under ``BufferedSocket`` on a real socket pair (the peer plays the server):
partial writes finish frames before new ones start, PING is answered between frames, CLOSE
and bad frames end the stream; and the paho internals WebSocket support reads."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from test_ws_frames import client_frames, server_frame

from nestpy_mqtt import _paho_compat
from nestpy_mqtt._buffered_socket import BufferedSocket
from nestpy_mqtt._ws_frames import CLOSE, PING, PONG, FrameReader
from nestpy_mqtt._ws_socket import WsSocket


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, peer = socket.socketpair()
    for sock in (ours, peer):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ours.setblocking(False)
    peer.setblocking(False)
    yield ours, peer
    ours.close()
    peer.close()


def drain(peer: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            data = peer.recv(65536)
        except BlockingIOError:
            return b"".join(chunks)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_queued_packets_become_frames_and_partial_writes_finish_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    io = BufferedSocket(WsSocket(ours))
    packets = [bytes([i % 256]) * (i * 37 % 5000) for i in range(300)]
    for packet in packets:
        io.send(packet)
    server = FrameReader()  # unmasks what the client masked
    received = b""
    for _ in range(10_000):
        io.flush()
        received += server.receive(drain(peer))
        if not io.has_output and len(received) == sum(map(len, packets)):
            break
    assert received == b"".join(packets)
    assert io.out_bytes == 0


def test_a_batch_goes_out_as_one_frame(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    io = BufferedSocket(WsSocket(ours))
    for i in range(20):
        io.send(b"packet%02d" % i)
    assert io.flush()
    frames = client_frames(drain(peer))
    assert frames == [(0x82, b"".join(b"packet%02d" % i for i in range(20)))]


def test_reads_deframe_and_a_ping_is_answered(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    ws = WsSocket(ours)
    io = BufferedSocket(ws)
    peer.sendall(server_frame(b"hello ") + server_frame(b"hb", PING) + server_frame(b"world"))
    assert io.fill()
    assert io.recv(100) == b"hello world"
    assert client_frames(drain(peer)) == [(0x80 | PONG, b"hb")]
    with pytest.raises(BlockingIOError):
        io.recv(1)
    peer.sendall(server_frame(b"abcdef"))
    assert ws.recv(2) == b"ab"
    assert ws.pending() == 4
    assert ws.recv(10) == b"cdef"


def test_a_pong_waits_for_the_frame_being_written(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    ws = WsSocket(ours)
    big = bytes(range(256)) * 1000
    sent = ws.send(big)  # the socket takes only part of the frame
    assert sent < len(big)
    peer.sendall(server_frame(b"p", PING))
    with pytest.raises(BlockingIOError):
        ws.recv(10)  # the PING is read; the PONG waits for the frame
    server = FrameReader()
    wire = b""
    while sent < len(big):
        wire += drain(peer)
        with contextlib.suppress(BlockingIOError):
            sent += ws.send(memoryview(big)[sent:])
    while True:
        wire += drain(peer)
        try:
            if ws.send(b"next") == 4:
                break
        except BlockingIOError:
            pass
    wire += drain(peer)
    frames = client_frames(wire)
    assert [first for first, _ in frames] == [0x82, 0x80 | PONG, 0x82]
    assert server.receive(wire) == big + b"next"


def test_close_is_answered_then_the_stream_ends(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    ws = WsSocket(ours)
    peer.sendall(server_frame(b"last") + server_frame(b"\x03\xe8", CLOSE))
    assert ws.recv(100) == b"last"
    assert ws.recv(100) == b""
    assert client_frames(drain(peer)) == [(0x80 | CLOSE, b"\x03\xe8")]


def test_a_bad_frame_is_a_lost_connection(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    io = BufferedSocket(WsSocket(ours))
    peer.sendall(server_frame(b"{}", 0x1))
    assert io.fill()  # the error is kept for paho's next recv, which makes it a lost connection
    with pytest.raises(ConnectionAbortedError, match=r"MQTT over WebSocket: .*text frame"):
        io.recv(1)
    assert client_frames(drain(peer)) == [(0x80 | CLOSE, (1003).to_bytes(2, "big"))]
    with pytest.raises(ConnectionAbortedError):
        io.send(b"x")


def test_closing_says_close(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    WsSocket(ours).close()
    assert client_frames(drain(peer)) == [(0x80 | CLOSE, b"\x03\xe8")]


def _paho_wrapper(inner: Any, **state: Any) -> Any:
    # paho's own wrapper class, its handshake skipped: the state it has after the upgrade.
    wrapper: Any = object.__new__(mqtt._WebsocketWrapper)
    values = {"connected": True, "_socket": inner, "_readbuffer": bytearray()}
    values |= {"_sendbuffer": bytearray(), "_payload_head": 0, **state}
    for name, value in values.items():
        setattr(wrapper, name, value)
    return wrapper


def test_the_socket_under_pahos_wrapper_only_when_no_frame_is_half_done(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = pair
    client = mqtt.Client(CallbackAPIVersion.VERSION2, transport="websockets")
    internals = _paho_compat.PahoInternals.check(client)
    assert internals is not None
    assert internals.websocket_socket(_paho_wrapper(ours)) is ours
    assert internals.websocket_socket(_paho_wrapper(ours, _readbuffer=bytearray(b"\x82"))) is None
    assert internals.websocket_socket(_paho_wrapper(ours, _sendbuffer=bytearray(b"x"))) is None
    assert internals.websocket_socket(_paho_wrapper(ours, connected=False)) is None
    assert internals.websocket_socket(ours) is None  # not a wrapper
    assert internals.websocket_socket(_paho_wrapper(object())) is None


def test_a_paho_without_the_websocket_internals_warns_and_keeps_its_own_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Wrapper:
        def __init__(self, socket: Any) -> None:
            self.sock = socket

    monkeypatch.setattr(_paho_compat, "_warned", False)
    monkeypatch.setattr(mqtt, "_WebsocketWrapper", Wrapper)
    tcp = mqtt.Client(CallbackAPIVersion.VERSION2)
    assert _paho_compat.PahoInternals.check(tcp) is not None  # TCP does not need them
    ws = mqtt.Client(CallbackAPIVersion.VERSION2, transport="websockets")
    with caplog.at_level(logging.WARNING, logger="nestpy.mqtt.connection"):
        assert _paho_compat.PahoInternals.check(ws) is None
    [record] = caplog.records
    assert "_WebsocketWrapper" in record.getMessage()
    assert "_socket" in record.getMessage()
