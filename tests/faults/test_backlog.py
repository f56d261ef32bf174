"""A bounded backlog: beyond ``max_backlog`` a request gets an immediate "Service overloaded"
error and an event a logged drop; time spent waiting counts toward the handler's timeout; an
MQTT 5 request that expired while waiting is not run; a message waiting is not acknowledged."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from test_ack_policy import acks
from transport_support import Harness, Sniffer, eventually, logging_broker, make_module

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, RequestTimeoutError, RpcException
from nestpy.microservices.codec import encode_event, encode_request
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


@Controller()
class BusyController:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls: list[str] = []

    @MessagePattern("busy/hold", qos=1)
    async def hold(self, name: str) -> str:
        self.calls.append(name)
        await self.release.wait()
        return name

    @MessagePattern("busy/quick", qos=1, timeout=0.5)
    async def quick(self, name: str) -> str:
        self.calls.append(name)
        return name

    @MessagePattern("busy/untimed", qos=1)
    async def untimed(self, name: str) -> str:
        self.calls.append(name)
        return name

    @EventPattern("busy/event", qos=1)
    async def event(self, name: str) -> None:
        self.calls.append(name)


async def busy_service(harness: Harness, client_id: str = "busy", **server: Any) -> BusyController:
    app = await harness.app(
        make_module([BusyController]), server={"max_concurrency": 1, **server}, client_id=client_id
    )
    return app.get(BusyController)


async def hold(harness: Harness, controller: BusyController) -> asyncio.Future[Any]:
    """Occupy the only handler slot until ``controller.release`` is set."""
    held = asyncio.ensure_future(harness.client().send("busy/hold", "held", timeout=30))
    await eventually(lambda: "held" in controller.calls)
    return held


async def test_beyond_max_backlog_requests_get_an_immediate_error_and_events_are_dropped(
    harness: Harness, sniffer: Sniffer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    controller = await busy_service(harness, max_backlog=2)
    held = await hold(harness, controller)
    client = harness.client()
    waiting = [asyncio.ensure_future(client.send("busy/untimed", f"w{i}")) for i in range(2)]
    await asyncio.sleep(0.2)  # both in the backlog
    started = time.monotonic()
    with pytest.raises(RpcException, match="Service overloaded") as refused:
        await client.send("busy/untimed", "over", timeout=10)
    assert time.monotonic() - started < 5  # at once, not after the held handler
    assert refused.value.get_error()["status"] == "error"
    await sniffer.publish("busy/event", encode_event("busy/event", "dropped"))
    await eventually(lambda: "shed messages over max_backlog" in caplog.text)
    controller.release.set()
    assert await held == "held"
    assert await asyncio.gather(*waiting) == ["w0", "w1"]
    assert "over" not in controller.calls
    assert "dropped" not in controller.calls
    [reply] = [r for r in sniffer.on("busy/untimed/reply") if b"overloaded" in r.payload]
    assert reply.payload.startswith(b'{"err":{"status":"error","message":"Service overloaded')
    assert reply.payload.endswith(b'"isDisposed":true,"id":"' + _id_of(reply.payload) + b'"}')


def _id_of(payload: bytes) -> bytes:
    return payload.rsplit(b'"id":"', 1)[1].rstrip(b'"}')


async def test_time_in_the_backlog_counts_toward_the_handler_timeout(harness: Harness) -> None:
    """``quick`` may take 0.5 s: requests that already waited that long for a slot get the
    timeout error without running."""
    controller = await busy_service(harness)
    held = await hold(harness, controller)
    client = harness.client()
    late = [asyncio.ensure_future(client.send("busy/quick", f"q{i}", timeout=10)) for i in range(3)]
    await asyncio.sleep(0.8)
    controller.release.set()
    for outcome in await asyncio.gather(*late, return_exceptions=True):
        assert isinstance(outcome, RpcException)
        assert "timed out after 0.5 s" in str(outcome)
    assert controller.calls == ["held"]
    await held
    assert await client.send("busy/quick", "fresh", timeout=10) == "fresh"


@pytest.mark.parametrize("mqtt_version", [5], ids=["mqtt5"])
async def test_a_request_that_expired_in_the_backlog_is_not_run(
    harness: Harness, sniffer: Sniffer
) -> None:
    """MQTT 5 Message Expiry Interval: the broker's countdown goes on in the service's
    backlog; an expired request is dropped unrun (its caller has given up)."""
    controller = await busy_service(harness)
    held = await hold(harness, controller)
    expiring = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    expiring.MessageExpiryInterval = 1
    request = encode_request("busy/untimed", "expired", "x1")
    await sniffer.connection.publish_and_wait("busy/untimed", request, 1, properties=expiring)
    await sniffer.publish("busy/untimed", encode_request("busy/untimed", "kept", "k1"))
    await asyncio.sleep(1.5)
    controller.release.set()
    await held
    [reply] = await sniffer.wait("busy/untimed/reply")
    assert b'"id":"k1"' in reply.payload
    assert controller.calls == ["held", "kept"]


@pytest.fixture(scope="module")
def log_broker() -> Iterator[MosquittoBroker]:
    with logging_broker() as broker:
        yield broker


async def test_a_message_waiting_in_the_backlog_is_not_acknowledged(
    log_broker: MosquittoBroker, mqtt_version: int
) -> None:
    harness = Harness(log_broker.url, mqtt_version)
    publisher = await Sniffer(log_broker.url).start()
    try:
        client_id = f"busy-{mqtt_version}"
        controller = await busy_service(harness, client_id)
        held = await hold(harness, controller)
        await publisher.publish("busy/event", encode_event("busy/event", "queued"))
        await asyncio.sleep(0.3)
        assert acks(log_broker, client_id=client_id) == []
        controller.release.set()
        await held
        await eventually(lambda: "queued" in controller.calls)
        await eventually(lambda: len(acks(log_broker, client_id=client_id)) == 1)
    finally:
        await publisher.close()
        await harness.close()


async def test_shed_instead_of_working_for_callers_already_gone(harness: Harness) -> None:
    """The issue's measurement, small: 5 handler slots, 1 s handlers, 60 requests with a 4 s
    timeout. Every caller gets an answer (result, timeout error or overload error) before
    its own timeout, and no handler starts for a caller who has already given up."""
    timeout = 4.0
    sent: dict[str, float] = {}
    starts: dict[str, float] = {}

    @Controller()
    class Slow:
        @MessagePattern("shed/slow", qos=1)
        async def slow(self, name: str) -> str:
            starts[name] = time.monotonic()
            await asyncio.sleep(1)
            return name

    await harness.app(
        make_module([Slow]),
        server={"max_concurrency": 5, "max_backlog": 10, "handler_timeout": 1.5},
        client_id="shed",
    )
    client = harness.client()
    await client.connect()

    async def call(name: str) -> str:
        sent[name] = time.monotonic()
        try:
            return str(await client.send("shed/slow", name, timeout=timeout))
        except RpcException as exc:
            return "overloaded" if "overloaded" in str(exc) else "timed out"

    outcomes = await asyncio.gather(*(call(f"r{i}") for i in range(60)))
    late = [n for n, at in starts.items() if at > sent[n] + timeout]
    assert late == []
    assert outcomes.count("overloaded") >= 60 - 5 - 10
    assert sum(o.startswith("r") for o in outcomes) >= 5
    assert all(not isinstance(o, RequestTimeoutError) for o in outcomes)
