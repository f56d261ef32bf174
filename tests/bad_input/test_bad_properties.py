"""MQTT 5 PUBLISH packets whose properties paho refuses or treats specially (issue 10, item 5).

Mosquitto never forwards these, but a lenient broker or a man in the middle can. The fast path
parses QoS 0 PUBLISH packets with properties itself; for these it must step aside and let paho
decide, so both paths behave alike: paho 2.2 drops the connection on a protocol error (2.1
does not), and paho delivers a topic alias; the fast path never delivers what paho refuses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scripted_broker import ScriptedBroker

from nestpy_mqtt._codec import Publish, encode_publish
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.options import MqttOptions

GOOD = [
    encode_publish(Publish(f"good/{i}".encode(), b"{}", properties=((0x26, ("k", "v")),)), True)
    for i in range(3)
]
BAD = {
    "nul in a user property": ((0x26, ("k", "a\x00b")),),
    "repeated expiry": ((0x02, 5), (0x02, 6)),
    "payload format 2": ((0x01, 2),),
    "subscription id 0": ((0x0B, 0),),
    "session expiry": ((0x11, 5),),
    "topic alias": ((0x23, 1),),
}


async def _deliveries(properties: Any, fast_path: bool) -> tuple[list[tuple[str, str]], bool]:
    bad = encode_publish(Publish(b"bad/x", b"{}", properties=properties), True)
    broker = await ScriptedBroker(mqtt5=True, burst=bad + b"".join(GOOD)).start()
    got: list[tuple[str, str]] = []
    options = MqttOptions(
        url=broker.url,
        protocol_version=5,
        keepalive=60,
        fast_path=fast_path,
        reconnect_min_delay=5,
        reconnect_max_delay=5,
    )
    conn = MqttConnection(options, on_message=lambda m: got.append((m.topic, str(m.properties))))
    dropped = asyncio.Event()
    conn.on_connection_lost.append(lambda _error: dropped.set())
    try:
        await conn.connect()
        await conn.subscribe("#", qos=1)
        for _ in range(60):  # until all arrived or the link dropped (3 s at most)
            if len(got) == len(GOOD) + 1 or dropped.is_set():
                break
            await asyncio.sleep(0.05)
        return got, dropped.is_set()
    finally:
        await conn.close()
        await broker.stop()


@pytest.mark.parametrize("name", list(BAD))
async def test_properties_paho_refuses_are_left_to_paho(name: str) -> None:
    fast = await _deliveries(BAD[name], fast_path=True)
    paho = await _deliveries(BAD[name], fast_path=False)
    assert fast == paho
    got, dropped = fast
    if name == "topic alias":
        assert not dropped
        assert got[0] == ("bad/x", "[TopicAlias : 1]")
        assert [topic for topic, _ in got[1:]] == ["good/0", "good/1", "good/2"]
    else:
        assert all(topic != "bad/x" for topic, _ in got)
