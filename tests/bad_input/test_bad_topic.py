"""One bad frame never stalls the good ones (issue 9, item 8).

Mosquitto refuses PUBLISH packets whose topic is not valid UTF-8, but a lenient broker or a man
in the middle can deliver one. A tiny scripted broker (loopback TCP, in the test) answers
CONNECT and SUBSCRIBE, then writes a bad PUBLISH followed by good ones in a single write: the
good ones must arrive at once (not at the next socket event, a keepalive away), and the bad
topic is logged as the repr of its bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from nestpy_mqtt._codec import PacketReader, Publish, encode_publish
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.options import MqttOptions

BAD_TOPIC = b"bad/\xff\xfe"
GOOD = [f"good/{i}" for i in range(3)]


class ScriptedBroker:
    """Accepts one client: CONNACK, SUBACK, then ``burst`` in one write."""

    def __init__(self, mqtt5: bool, burst: bytes) -> None:
        self.mqtt5 = mqtt5
        self.burst = burst
        self.received: list[int] = []  # packet types from the client, e.g. PUBACK = 4
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"mqtt://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = PacketReader()
        props = b"\x00" if self.mqtt5 else b""
        try:
            while data := await reader.read(65536):
                for packet in frames.feed(data):
                    self.received.append(packet.type)
                    if packet.type == 1:  # CONNECT
                        writer.write(b"\x20" + bytes((2 + len(props),)) + b"\x00\x00" + props)
                    elif packet.type == 8:  # SUBSCRIBE: grant QoS 1, then the burst
                        mid = packet.body[:2]
                        writer.write(b"\x90" + bytes((3 + len(props),)) + mid + props + b"\x01")
                        writer.write(self.burst)
                    elif packet.type == 12:  # PINGREQ
                        writer.write(b"\xd0\x00")
                await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def burst(mqtt5: bool, qos: int) -> bytes:
    topics = [BAD_TOPIC, *(t.encode() for t in GOOD)]
    return b"".join(
        encode_publish(Publish(topic, b"{}", qos=qos, mid=i + 1 if qos else 0), mqtt5)
        for i, topic in enumerate(topics)
    )


@pytest.fixture
async def stop_later() -> AsyncIterator[list[object]]:
    things: list[object] = []
    yield things
    for thing in reversed(things):
        await thing.close() if isinstance(thing, MqttConnection) else await thing.stop()  # type: ignore[attr-defined]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "paho-path"])
@pytest.mark.parametrize("qos", [0, 1])
@pytest.mark.parametrize("version", [4, 5])
async def test_messages_behind_an_invalid_utf8_topic_arrive_at_once(
    version: int,
    qos: int,
    fast_path: bool,
    stop_later: list[object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = ScriptedBroker(version == 5, burst(version == 5, qos))
    await broker.start()
    stop_later.append(broker)
    got: list[str] = []
    arrived = asyncio.Event()

    def on_message(message: object) -> None:
        got.append(message.topic)  # type: ignore[attr-defined]  # raises on the bad topic
        if len(got) == len(GOOD):
            arrived.set()

    options = MqttOptions(
        url=broker.url, protocol_version=version, keepalive=60, fast_path=fast_path
    )
    conn = MqttConnection(options, on_message=on_message)
    stop_later.append(conn)
    await conn.connect()
    with caplog.at_level(logging.WARNING, logger="nestpy.mqtt.connection"):
        await conn.subscribe("#", qos=1)
        # Without containment they wait for the next socket event: a PINGREQ, 60 s away.
        await asyncio.wait_for(arrived.wait(), 10)
    assert got == GOOD
    logged = [r.getMessage() for r in caplog.records]
    assert any(repr(BAD_TOPIC) in line and "not valid UTF-8" in line for line in logged), logged
    assert conn.is_connected


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "paho-path"])
@pytest.mark.parametrize("qos", [0, 1])
async def test_a_failing_per_topic_callback_never_stalls_the_messages_behind_it(
    qos: int, fast_path: bool, stop_later: list[object], caplog: pytest.LogCaptureFixture
) -> None:
    topics = [b"cb/x", *(t.encode() for t in GOOD)]
    wire = b"".join(
        encode_publish(Publish(t, b"{}", qos=qos, mid=i + 1 if qos else 0), False)
        for i, t in enumerate(topics)
    )
    broker = ScriptedBroker(False, wire)
    await broker.start()
    stop_later.append(broker)
    got: list[str] = []
    options = MqttOptions(url=broker.url, keepalive=60, fast_path=fast_path)
    conn = MqttConnection(options, on_message=lambda m: got.append(m.topic))
    stop_later.append(conn)
    await conn.connect()

    def failing(_client: object, _userdata: object, _message: object) -> None:
        raise RuntimeError("the per-topic callback failed")

    conn.unwrap().message_callback_add("cb/#", failing)
    with caplog.at_level(logging.ERROR):
        await conn.subscribe("#", qos=1)
        for _ in range(200):  # up to 10 s; at once when contained
            if len(got) == len(GOOD):
                break
            await asyncio.sleep(0.05)
    assert got == GOOD
    assert any("the per-topic callback failed" in r.getMessage() for r in caplog.records)
    assert conn.is_connected
