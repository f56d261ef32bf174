"""Beyond one broker: two Mosquitto brokers bridged (the bridge section is written here), the
client on one and the service on the other; requests, replies and events cross the bridge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from transport_support import Harness, eventually, make_module

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, RequestTimeoutError
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


@Controller()
class BridgedController:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @MessagePattern("bridge/sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("bridge/count")
    def count(self, n: int) -> Any:
        yield from range(n)

    @EventPattern("bridge/event")
    def event(self, data: Any) -> None:
        self.events.append(data)


@Controller()
class OtherSideController:
    @MessagePattern("bridge/where")
    def where(self, data: Any) -> str:
        return "broker A"


def bridged_pair(make: Callable[..., MosquittoBroker]) -> tuple[MosquittoBroker, MosquittoBroker]:
    """Broker A, and broker B bridged to it: every topic, both ways, QoS 0."""
    a = make().start()
    b = make(
        extra_config=[
            "connection bridge-b-to-a",
            f"address {a.host}:{a.port}",
            "topic # both 0",
            "cleansession true",
            "restart_timeout 1",
        ]
    ).start()
    return a, b


async def first_reply(send: Callable[[], Any], attempts: int = 20) -> Any:
    """The first answer; the bridge connects a moment after broker B starts."""
    for _ in range(attempts - 1):
        with contextlib.suppress(RequestTimeoutError):
            return await send()
    return await send()


async def test_requests_replies_and_events_cross_a_bridge(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int
) -> None:
    a, b = bridged_pair(broker_factory)
    on_a, on_b = Harness(a.url, mqtt_version), Harness(b.url, mqtt_version)
    try:
        service = await on_b.app(make_module([BridgedController]))
        await on_a.app(make_module([OtherSideController]))
        client_a, client_b = on_a.client(), on_b.client()

        assert await first_reply(lambda: client_a.send("bridge/sum", [1, 2], timeout=0.5)) == 3
        replies = await asyncio.gather(
            *(client_a.send("bridge/sum", [i, i], timeout=5) for i in range(50))
        )
        assert replies == [2 * i for i in range(50)]
        assert [v async for v in client_a.send("bridge/count", 4, timeout=5)] == [0, 1, 2, 3]
        for i in range(20):
            await client_a.emit("bridge/event", {"n": i})
        controller: BridgedController = service.get(BridgedController)
        await eventually(lambda: len(controller.events) == 20)
        assert controller.events == [{"n": i} for i in range(20)]
        # and the other way: a client on B, a service on A
        assert (
            await first_reply(lambda: client_b.send("bridge/where", 1, timeout=0.5)) == "broker A"
        )
    finally:
        await on_a.close()
        await on_b.close()
