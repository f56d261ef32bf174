"""Shared subscriptions on Mosquitto: two service instances in one group split the work, and
every request is answered exactly once (``shared_group=`` and ``$share/<group>/`` keys)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from transport_support import Harness, Sniffer, eventually, logging_broker, subscriptions

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern
from nestpy_mqtt import MqttContext
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt

REQUESTS = 200


@Controller()
class WorkerController:
    def __init__(self) -> None:
        self.handled: list[Any] = []

    @MessagePattern("work")
    async def work(self, n: int) -> int:
        self.handled.append(n)
        await asyncio.sleep(0)
        return n * 2

    @MessagePattern("$share/jobs/jobs/+")
    def job(self, n: int, ctx: MqttContext) -> str:
        self.handled.append(n)
        return ctx.get_topic()

    @EventPattern("tick")
    def tick(self, n: int) -> None:
        self.handled.append(("tick", n))


@pytest.fixture(scope="module")
def log_broker() -> Iterator[MosquittoBroker]:
    with logging_broker() as broker:
        yield broker


@pytest.fixture
async def harness(log_broker: MosquittoBroker, mqtt_version: int) -> AsyncIterator[Harness]:
    peers = Harness(log_broker.url, mqtt_version)
    try:
        yield peers
    finally:
        await peers.close()


@pytest.fixture
async def sniffer(log_broker: MosquittoBroker) -> AsyncIterator[Sniffer]:
    sniffing = await Sniffer(log_broker.url).start()
    try:
        yield sniffing
    finally:
        await sniffing.close()


async def workers(
    harness: Harness, client_id: str | None = None, **options: Any
) -> list[WorkerController]:
    """Two instances of the service (the first with ``client_id``)."""
    apps = [
        await harness.service(WorkerController, client_id=cid, **options)
        for cid in (client_id, None)
    ]
    return [app.get(WorkerController) for app in apps]


def assert_answered_once(sniffer: Sniffer, reply_topics: set[str]) -> None:
    replies = [m for m in sniffer.messages if m.topic in reply_topics]
    ids = [json.loads(m.payload)["id"] for m in replies]
    assert len(ids) == len(set(ids)) == REQUESTS


async def test_shared_group_option_splits_requests_between_instances(
    harness: Harness, log_broker: MosquittoBroker, sniffer: Sniffer, mqtt_version: int
) -> None:
    group = f"workers{mqtt_version}"
    first, second = await workers(harness, shared_group=group, client_id=f"w-{mqtt_version}")
    client = harness.client()
    sends = [client.send("work", n, timeout=10) for n in range(REQUESTS)]
    assert await asyncio.gather(*sends) == [n * 2 for n in range(REQUESTS)]
    assert first.handled
    assert second.handled
    assert sorted(first.handled + second.handled) == list(range(REQUESTS))
    await sniffer.wait("work/reply", REQUESTS)
    assert_answered_once(sniffer, {"work/reply"})
    subscribed = [topic for topic, _ in subscriptions(log_broker, f"w-{mqtt_version}")]
    assert f"$share/{group}/work" in subscribed
    assert "$share/jobs/jobs/+" in subscribed  # an already shared key is kept as it is


async def test_share_handler_keys_match_the_delivered_topics(
    harness: Harness, sniffer: Sniffer
) -> None:
    first, second = await workers(harness)
    client = harness.client()
    sends = [client.send(f"jobs/{n % 7}", n, timeout=10) for n in range(REQUESTS)]
    assert await asyncio.gather(*sends) == [f"jobs/{n % 7}" for n in range(REQUESTS)]
    assert first.handled
    assert second.handled
    assert sorted(first.handled + second.handled) == list(range(REQUESTS))
    await eventually(
        lambda: len([m for m in sniffer.messages if m.topic.endswith("/reply")]) >= REQUESTS
    )
    assert_answered_once(sniffer, {f"jobs/{n}/reply" for n in range(7)})


async def test_events_are_handled_once_per_group(harness: Harness) -> None:
    first, second = await workers(harness, shared_group="tickers")
    client = harness.client()
    for n in range(20):
        await client.emit("tick", n)
    await eventually(lambda: len(first.handled) + len(second.handled) == 20)
    await client.send("work", 0, timeout=5)  # a round trip: no duplicate was on its way
    ticks = [h for h in first.handled + second.handled if isinstance(h, tuple)]
    assert sorted(ticks) == [("tick", n) for n in range(20)]
