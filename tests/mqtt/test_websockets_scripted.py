"""MQTT over WebSocket against a scripted server, for frames Mosquitto does not send: packets
split across fragmented frames and several packets in one frame, PING between fragments, and a
CLOSE from the server. The client under test is the real one (paho included)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from test_ws_frames import server_frame
from transport_support import FAST, eventually

from nestpy_mqtt import MqttOptions
from nestpy_mqtt._buffered_socket import BufferedSocket
from nestpy_mqtt._codec import PacketReader, Publish, encode_publish
from nestpy_mqtt._ws_frames import BINARY, CLOSE, CONTINUATION, PING, PONG, FrameReader
from nestpy_mqtt.connection import MqttConnection

pytestmark = pytest.mark.mqtt

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def publish(i: int) -> bytes:
    return encode_publish(Publish(b"t/x", b"message %d " % i + b"." * (i * 53 % 700)), False)


def burst() -> tuple[bytes, list[bytes]]:
    """Frames carrying 40 PUBLISH packets cut at odd places, with a PING inside a fragmented
    message, and the payloads they carry."""
    stream = b"".join(publish(i) for i in range(40))
    cuts = [0, 3, 4, 900, 901, 2500, len(stream) // 2, len(stream) - 10, len(stream)]
    parts = [stream[a:b] for a, b in itertools.pairwise(cuts)]
    frames = [server_frame(parts[0], BINARY, final=False)]
    frames.append(server_frame(b"are you there", PING))
    for part in parts[1:-1]:
        frames.append(server_frame(part, CONTINUATION, final=False))
    frames.append(server_frame(parts[-1], CONTINUATION))
    frames.append(server_frame(publish(40) + publish(41)))  # two packets, one frame
    wire = b"".join(frames)
    return wire, [b"message %d " % i + b"." * (i * 53 % 700) for i in range(42)]


class ScriptedWsServer:
    """Upgrades, answers CONNECT and SUBSCRIBE; after SUBACK writes ``burst()``'s frames in
    small pieces. Keeps the client's control frames; ``close()`` sends CLOSE."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.controls: list[tuple[int, bytes]] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/mqtt"

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def close(self) -> None:
        self.writers[-1].write(server_frame((1001).to_bytes(2, "big"), CLOSE))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
        )
        frames = _ClientFrames(self.controls)
        packets = PacketReader()
        try:
            while data := await reader.read(65536):
                payload = frames.feed(data)
                if (CLOSE, (1001).to_bytes(2, "big")) in self.controls:
                    break  # the closing handshake is done: the server closes TCP
                for packet in packets.feed(payload):
                    if packet.type == 1:  # CONNECT
                        writer.write(server_frame(b"\x20\x02\x00\x00"))
                    elif packet.type == 8:  # SUBSCRIBE
                        writer.write(server_frame(b"\x90\x03" + packet.body[:2] + b"\x00"))
                        wire, _ = burst()
                        for i in range(0, len(wire), 777):
                            writer.write(wire[i : i + 777])
                            await writer.drain()
                    elif packet.type == 12:  # PINGREQ
                        writer.write(server_frame(b"\xd0\x00"))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


class _ClientFrames:
    """The client's frames' payload; its control frames are kept, not answered."""

    def __init__(self, controls: list[tuple[int, bytes]]) -> None:
        self.buffer = b""
        self.controls = controls

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        out = b""
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            size, head = second & 0x7F, 2
            if size == 126:
                size, head = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, head = int.from_bytes(self.buffer[2:10], "big"), 10
            end = head + size + (4 if second & 0x80 else 0)  # paho's PONG/CLOSE: unmasked
            if len(self.buffer) < end:
                break
            frame, self.buffer = self.buffer[:end], self.buffer[end:]
            payload = FrameReader().receive(bytes((0x82,)) + frame[1:])
            if first & 0x0F >= 8:
                self.controls.append((first & 0x0F, payload))
            else:
                out += payload
        return out


@pytest.fixture(params=[True, False], ids=["fast-path", "paho-path"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedWsServer]:
    scripted = ScriptedWsServer()
    yield scripted
    await scripted.stop()


async def test_fragments_pings_and_packed_frames_then_a_close_and_a_reconnect(
    server: ScriptedWsServer, fast_path: bool
) -> None:
    url = await server.start()
    got: list[Any] = []
    conn = MqttConnection(
        MqttOptions(url=url, fast_path=fast_path, **FAST), on_message=lambda m: got.append(m)
    )
    try:
        await conn.connect()
        assert isinstance(conn.unwrap().socket(), BufferedSocket) is fast_path
        await conn.subscribe("t/#", qos=0)
        _, expected = burst()
        await eventually(lambda: len(got) >= len(expected))
        assert [m.payload for m in got] == expected
        await eventually(lambda: (PONG, b"are you there") in server.controls)
        server.close()
        await eventually(lambda: (CLOSE, (1001).to_bytes(2, "big")) in server.controls)
        await eventually(lambda: server.connections == 2)  # paho reconnected
    finally:
        await conn.close()
