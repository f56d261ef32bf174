"""Forged replies: a third party that can read ``<pattern>/reply`` (and publish) must not get a
reply of its own accepted, neither by predicting the next request id from the ids it has seen
nor by answering a request it knows about on another pattern's reply topic."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from transport_support import Harness, eventually

from nestpy import Controller
from nestpy.microservices import MessagePattern, RpcException
from nestpy_mqtt import ClientMqtt, MqttOptions
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt

FORGED = "forged"


@Controller()
class VictimController:
    """``slow`` and ``stream`` answer once the test releases them, so that a forged reply
    always has the chance to arrive first."""

    def __init__(self) -> None:
        self.arrived = 0
        self.release = asyncio.Event()

    @MessagePattern("forgery/slow")
    async def slow(self, n: int) -> str:
        self.arrived += 1
        await self.release.wait()
        return "real"

    @MessagePattern("forgery/stream")
    async def stream(self, n: int) -> AsyncIterator[str]:
        yield "real-1"
        await self.release.wait()
        yield "real-2"

    @MessagePattern("forgery/open")
    def open(self, n: int) -> str:
        return "open"


class Attacker:
    """Another MQTT client: reads the topics it subscribes to, publishes where it likes."""

    def __init__(self, url: str) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.connection = MqttConnection(
            MqttOptions(url=url), on_message=self._record, name="attacker"
        )

    def _record(self, message: Any) -> None:
        self.seen.append((message.topic, json.loads(message.payload)))

    async def start(self, *topics: str) -> Attacker:
        await self.connection.connect()
        for topic in topics:
            await self.connection.subscribe(topic)
        return self

    def ids_seen(self, topic: str, *, response: str | None = None) -> list[str]:
        return [
            p["id"]
            for t, p in self.seen
            if t == topic and (response is None or p.get("response") == response)
        ]

    async def forge(self, topic: str, request_id: str, **packet: Any) -> bytes:
        payload = json.dumps({**packet, "id": request_id}).encode()
        await self.connection.publish_and_wait(topic, payload, qos=1)
        return payload


def next_ids(seen: str, count: int) -> list[str]:
    """The attacker's best guesses after ``seen``: a per-client prefix and a hex counter."""
    prefix, counter = seen[:10], int(seen[10:], 16)
    return [f"{prefix}{counter + k:011x}" for k in range(1, count + 1)]


def received_by(client: ClientMqtt) -> list[bytes]:
    payloads: list[bytes] = []
    client.on("message", lambda message: payloads.append(bytes(message.payload)))
    return payloads


@pytest.fixture
async def peers(private_broker: MosquittoBroker) -> AsyncIterator[Harness]:
    harness = Harness(private_broker.url)
    try:
        yield harness
    finally:
        await harness.close()


async def test_ids_are_unpredictable_so_blind_forgeries_are_never_accepted(
    peers: Harness,
) -> None:
    app = await peers.service(VictimController)
    victim: VictimController = app.get(VictimController)
    client = peers.client()
    received = received_by(client)
    attacker = await Attacker(peers.url).start("forgery/slow/reply")
    try:
        accepted = 0
        rounds = 40
        for n in range(rounds):
            victim.release.clear()
            request = asyncio.ensure_future(client.send("forgery/slow", n, timeout=30))
            await eventually(lambda n=n: victim.arrived == n + 1)  # pending, not answered
            observed = attacker.ids_seen("forgery/slow/reply", response="real")
            if observed:
                for guess in next_ids(observed[-1], 3):
                    forged = await attacker.forge(
                        "forgery/slow/reply", guess, response=FORGED, isDisposed=True
                    )
                    await eventually(lambda f=forged: f in received)  # the client has it
            victim.release.set()
            accepted += await request == FORGED
            await eventually(lambda n=n: len(attacker.ids_seen("forgery/slow/reply")) > n)
        assert accepted == 0, f"{accepted} of {rounds} forged replies accepted"
        ids = attacker.ids_seen("forgery/slow/reply", response="real")
        assert len(ids) == rounds
        assert all(re.fullmatch(r"[0-9a-f]{21}", i) for i in ids)
        assert len({i[:10] for i in ids}) == rounds  # no shared prefix, no counter
    finally:
        await attacker.connection.close()


async def test_a_reply_on_another_patterns_reply_topic_is_not_accepted(
    peers: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The attacker reads the request topic ``forgery/slow`` and the stream's reply topic,
    so it knows the ids in flight, but may only publish on ``forgery/open/reply``."""
    app = await peers.service(VictimController)
    victim: VictimController = app.get(VictimController)
    client = peers.client()
    received = received_by(client)
    assert await client.send("forgery/open", 0, timeout=10) == "open"  # listens there too
    attacker = await Attacker(peers.url).start("forgery/slow", "forgery/stream/reply")
    try:
        request = asyncio.ensure_future(client.send("forgery/slow", 1, timeout=30))
        values: list[str] = []

        async def consume() -> None:
            async for value in client.send("forgery/stream", 1, timeout=30):
                values.append(value)

        streaming = asyncio.ensure_future(consume())
        await eventually(lambda: len(attacker.seen) == 2)  # the request and the first value
        (slow_id,) = [p["id"] for t, p in attacker.seen if t == "forgery/slow"]
        (stream_id,) = attacker.ids_seen("forgery/stream/reply")
        with caplog.at_level(logging.WARNING, logger="nestpy.microservices.client"):
            forged = [
                await attacker.forge(
                    "forgery/open/reply", slow_id, response=FORGED, isDisposed=True
                ),
                await attacker.forge("forgery/open/reply", stream_id, err=FORGED, isDisposed=True),
            ]
            await eventually(lambda: all(f in received for f in forged))
        victim.release.set()
        assert await request == "real"
        await streaming  # no RpcException(FORGED)
        assert values == ["real-1", "real-2"]
        assert client.pending_requests == 0
        assert caplog.text.count("Dropped a reply on 'forgery/open/reply'") == 2
    finally:
        await attacker.connection.close()


async def test_the_pending_requests_own_reply_topic_still_carries_every_reply(
    peers: Harness,
) -> None:
    """The check costs Nest's wire nothing: replies, streams and errors still arrive."""

    @Controller()
    class Plain:
        @MessagePattern("forgery/fail")
        def fail(self, n: int) -> None:
            raise RpcException("no")

        @MessagePattern({"cmd": "forgery"})
        def obj(self, n: int) -> int:
            return n

        @MessagePattern("forgery/+/item")
        def item(self, n: int) -> int:
            return n * 2

    await peers.service(Plain)
    client = peers.client()
    with pytest.raises(RpcException, match="no"):
        await client.send("forgery/fail", 1, timeout=10)
    assert await client.send({"cmd": "forgery"}, 3, timeout=10) == 3
    assert await client.send("forgery/7/item", 4, timeout=10) == 8
