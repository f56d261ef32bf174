"""Wildcards, server subscriptions and QoS (global ``subscribe_options`` and per pattern) on
Mosquitto: what the server subscribes (from the broker's log) and what handlers receive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from transport_support import (
    Harness,
    Sniffer,
    eventually,
    logging_broker,
    subscriptions,
    wire_facts,
)

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, RpcException, Transport
from nestpy_mqtt import MqttContext, MqttRecordBuilder
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
F = wire_facts()


@Controller()
class SubscriptionsController:
    """Nest's service.js subscriptions (``nest_wire_facts.SERVER_SUBSCRIPTIONS_*``), in the
    order its handlers are defined."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any, int]] = []

    @MessagePattern("sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern(F.OBJECT_PATTERN)
    def object_sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("sensors/+/temperature/+")
    def temperature(self, data: Any, ctx: MqttContext) -> int:
        return ctx.get_packet().qos

    @MessagePattern("sensors/+")
    def sensor(self, data: Any, ctx: MqttContext) -> int:
        return ctx.get_packet().qos

    @MessagePattern("tcp_only", Transport.TCP)
    def tcp_only(self, data: Any) -> None: ...  # another transport's: never subscribed

    @EventPattern("user_created")
    def user_created(self, data: Any, ctx: MqttContext) -> None:
        self.received.append((ctx.get_topic(), data, ctx.get_packet().qos))

    @EventPattern("lamp/+")
    def lamp(self, data: Any) -> None: ...

    @EventPattern("alerts", {"qos": 2})  # Nest's working spelling of per-pattern QoS
    def alerts(self, data: Any, ctx: MqttContext) -> None:
        self.received.append((ctx.get_topic(), data, ctx.get_packet().qos))


@Controller()
class WildcardController:
    """Case 17 of nest-reference.md, and Nest's first-registered-wins rule for overlaps."""

    @MessagePattern("a/+/c")
    def single(self, data: Any, ctx: MqttContext) -> str:
        return f"a/+/c got {ctx.get_topic()}"

    @MessagePattern("$share/g/x/#")
    def shared_all(self, data: Any, ctx: MqttContext) -> str:
        return f"$share/g/x/# got {ctx.get_topic()}"

    @MessagePattern("wild/#")
    def z_defined_first(self, data: Any) -> str:
        return "wild/#"

    @MessagePattern("wild/+")
    def a_defined_second(self, data: Any) -> str:
        return "wild/+"

    @MessagePattern("wild/exact")
    def exact(self, data: Any) -> str:
        return "wild/exact"


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


@pytest.mark.parametrize(
    ("subscribe_options", "expected", "default_qos"),
    [
        (None, "SERVER_SUBSCRIPTIONS_DEFAULT", 0),
        ({"qos": 1}, "SERVER_SUBSCRIPTIONS_QOS1", 1),
    ],
    ids=["default", "qos1"],
)
async def test_server_subscribes_each_key_verbatim_with_its_qos(
    harness: Harness,
    log_broker: MosquittoBroker,
    mqtt_version: int,
    subscribe_options: dict[str, int] | None,
    expected: str,
    default_qos: int,
) -> None:
    client_id = f"subs-{expected}-{mqtt_version}"
    extra = {"subscribe_options": subscribe_options} if subscribe_options else {}
    await harness.service(SubscriptionsController, client_id=client_id, **extra)
    subscribed = subscriptions(log_broker, client_id)
    assert [s for s in subscribed if s in getattr(F, expected)] == list(getattr(F, expected))
    assert subscribed == [
        ("sum", default_qos),
        (F.OBJECT_TOPIC, default_qos),
        ("sensors/+/temperature/+", default_qos),
        ("sensors/+", default_qos),
        ("user_created", default_qos),
        ("lamp/+", default_qos),
        ("alerts", 2),
    ]


async def test_handlers_receive_the_subscription_qos(harness: Harness) -> None:
    app = await harness.service(SubscriptionsController, subscribe_options={"qos": 1})
    client = harness.client()

    def qos(value: int) -> Any:
        return MqttRecordBuilder({"q": value}).set_qos(value).build()

    assert await client.send("sensors/1/temperature/c", qos(2), timeout=5) == 1
    assert await client.send("sensors/1", qos(0), timeout=5) == 0
    await client.emit("alerts", qos(2))
    await client.emit("user_created", qos(2))
    controller: SubscriptionsController = app.get(SubscriptionsController)
    await eventually(lambda: len(controller.received) == 2)
    assert sorted(controller.received) == [("alerts", {"q": 2}, 2), ("user_created", {"q": 2}, 1)]


async def test_wildcards_and_shared_keys_match_like_nest(
    harness: Harness, log_broker: MosquittoBroker, mqtt_version: int
) -> None:
    client_id = f"wild-{mqtt_version}"
    await harness.service(WildcardController, client_id=client_id)
    client = harness.client()
    assert await client.send("a/b/c", 1, timeout=5) == "a/+/c got a/b/c"
    assert await client.send("x", 1, timeout=5) == "$share/g/x/# got x"
    assert await client.send("x/y/z", 1, timeout=5) == "$share/g/x/# got x/y/z"
    with pytest.raises(RpcException) as info:  # delivered by Mosquitto, refused by Nest's rules
        await client.send("a//c", 1, timeout=5)
    assert info.value.error == F.NO_HANDLER_MESSAGE
    assert ("a/+/c", 0) in subscriptions(log_broker, client_id)
    assert ("$share/g/x/#", 0) in subscriptions(log_broker, client_id)


async def test_overlapping_wildcards_first_defined_handler_wins(harness: Harness) -> None:
    """Nest looks keys up in registration order (the order handlers are defined), after an
    exact match."""
    await harness.service(WildcardController)
    client = harness.client()
    assert await client.send("wild/exact", 1, timeout=5) == "wild/exact"
    assert await client.send("wild/x", 1, timeout=5) == "wild/#"


async def test_multi_level_wildcard_request_replies_on_the_concrete_topic(
    harness: Harness,
) -> None:
    await harness.service(WildcardController)
    sniffer = await Sniffer(harness.url).start()
    try:
        await harness.client().send("x/1/2", 1, timeout=5)
        [reply] = await sniffer.wait("x/1/2/reply")
        assert b'"response":"$share/g/x/# got x/1/2"' in reply.payload
    finally:
        await sniffer.close()


async def test_requests_on_more_topics_than_the_server_keeps_repliers_for(
    harness: Harness,
) -> None:
    """The server makes a QoS 0 replier once per topic and keeps 1,024: beyond that, each
    request is still answered on its own topic's reply topic."""
    await harness.service(WildcardController)
    client = harness.client()
    topics = [f"a/{i}/c" for i in range(1_100)] + ["a/0/c", "a/1099/c"]
    for start in range(0, len(topics), 100):
        batch = topics[start : start + 100]
        answers = await asyncio.gather(*(client.send(t, 1, timeout=10) for t in batch))
        assert answers == [f"a/+/c got {t}" for t in batch]
