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
from scripted_broker import ScriptedBroker

from nestpy_mqtt._codec import Publish, encode_publish
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.options import MqttOptions

BAD_TOPIC = b"bad/\xff\xfe"
GOOD = [f"good/{i}" for i in range(3)]


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
    broker = await ScriptedBroker(mqtt5=version == 5, burst=burst(version == 5, qos)).start()
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
    broker = await ScriptedBroker(burst=wire).start()
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
