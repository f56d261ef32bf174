"""ClientMqtt where Nest's client is weak: kept reply subscriptions, timeouts, connection loss,
bad replies and refused subscriptions, on real Mosquitto brokers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from transport_support import (
    Harness,
    Sniffer,
    client_packets,
    dynsec_broker,
    eventually,
    logging_broker,
)

from nestpy import Controller, NestpyError
from nestpy.microservices import (
    ConnectionLostError,
    InvalidMessageError,
    MessagePattern,
    RequestTimeoutError,
    ResponseStream,
)
from nestpy_mqtt import MqttStatus, MqttSubscribeError
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


@Controller()
class HoldController:
    """``hold`` handlers answer once ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    @MessagePattern("sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("echo")
    async def echo(self, data: Any) -> Any:
        return data

    @MessagePattern("count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @MessagePattern("hold")
    async def hold(self, data: Any) -> Any:
        await self.release.wait()
        return data

    @MessagePattern("hold_stream")
    async def hold_stream(self, data: int) -> AsyncIterator[int]:
        yield data
        await self.release.wait()
        yield data + 1


@pytest.fixture(scope="module")
def log_broker() -> Iterator[MosquittoBroker]:
    with logging_broker() as broker:
        yield broker


async def hold_service(harness: Harness) -> HoldController:
    app = await harness.service(HoldController)
    controller: HoldController = app.get(HoldController)
    return controller


async def test_reply_subscription_is_made_once_per_pattern_and_kept(
    log_broker: MosquittoBroker, mqtt_version: int
) -> None:
    peers = Harness(log_broker.url, mqtt_version)
    try:
        await peers.service(HoldController)
        client_id = f"kept-{mqtt_version}"
        client = peers.client(client_id=client_id)
        assert [await client.send("sum", [i], timeout=5) for i in range(3)] == [0, 1, 2]
        together = [client.send("echo", i, timeout=5) for i in range(20)]  # first on "echo"
        assert await asyncio.gather(*together) == list(range(20))
        assert [v async for v in client.send("count", 2, timeout=5)] == [0, 1]
        assert await client.send("sum", [5], timeout=5) == 5
    finally:
        await peers.close()
    packets = client_packets(log_broker, client_id)
    subscribes = [(topic, qos) for kind, topic, qos in packets if kind == "SUBSCRIBE"]
    assert subscribes == [("sum/reply", 0), ("echo/reply", 0), ("count/reply", 0)]
    assert [p for p in packets if p[0] == "UNSUBSCRIBE"] == []
    assert len([p for p in packets if p[:2] == ("PUBLISH", "echo")]) == 20
    # as in Nest, the reply subscription is acknowledged before the request is published
    assert packets.index(("SUBSCRIBE", "sum/reply", 0)) < packets.index(("PUBLISH", "sum", 0))


async def test_timeout_on_send_and_in_the_options(harness: Harness) -> None:
    controller = await hold_service(harness)
    client = harness.client()
    with pytest.raises(RequestTimeoutError, match=r"No reply to 'nobody' within 0\.2 s"):
        await client.send("nobody", 1, timeout=0.2)
    defaulted = harness.client(request_timeout=0.2)
    with pytest.raises(RequestTimeoutError, match=r"within 0\.2 s"):
        await defaulted.send("hold", 1)
    with pytest.raises(RequestTimeoutError):
        async for _ in defaulted.send("hold_stream", 1, timeout=0.2):
            pass
    assert client.pending_requests == defaulted.pending_requests == 0
    assert await defaulted.send("sum", [1, 2]) == 3
    controller.release.set()


async def test_late_reply_after_a_timeout_is_dropped(harness: Harness) -> None:
    controller = await hold_service(harness)
    client = harness.client()
    with pytest.raises(RequestTimeoutError):
        await client.send("hold", "late", timeout=0.2)
    sniffer = await Sniffer(harness.url).start()
    try:
        controller.release.set()
        await sniffer.wait("hold/reply")  # the late reply reaches the client...
        assert await client.send("hold", "next", timeout=5) == "next"  # ...and is ignored
    finally:
        await sniffer.close()


async def test_non_json_and_foreign_replies_are_ignored(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    controller = await hold_service(harness)
    client = harness.client()
    sniffer = await Sniffer(harness.url).start()
    try:
        request = asyncio.ensure_future(client.send("hold", "real", timeout=5))
        await sniffer.wait("hold")
        with caplog.at_level(logging.WARNING):
            for junk in (b"not json", b"[1,2]", b"", b'{"id":"someone-else","response":1}'):
                await sniffer.publish("hold/reply", junk)
            await eventually(lambda: "not JSON" in caplog.text)
        assert not request.done()
        controller.release.set()
        assert await request == "real"
    finally:
        await sniffer.close()


async def answered(request: ResponseStream, attempts: int = 10) -> Any:
    """The reply to ``request``, sent again on a timeout (right after a broker restart, a
    request can overtake the service's restored subscriptions and be lost, as in Nest)."""
    for _ in range(attempts - 1):
        with contextlib.suppress(RequestTimeoutError):
            return await request
    return await request


async def test_connection_loss_fails_pending_requests(
    private_broker: MosquittoBroker, mqtt_version: int, caplog: pytest.LogCaptureFixture
) -> None:
    peers = Harness(private_broker.url, mqtt_version)
    try:
        controller = await hold_service(peers)
        client = peers.client()
        waiting = asyncio.ensure_future(client.send("hold", 1, timeout=30))
        streamed: list[int] = []

        async def consume() -> None:
            async for value in client.send("hold_stream", 7, timeout=30):
                streamed.append(value)

        streaming = asyncio.ensure_future(consume())
        await eventually(lambda: streamed == [7] and client.pending_requests == 2)
        private_broker.kill()
        for task in (waiting, streaming):
            with pytest.raises(ConnectionLostError) as info:
                await asyncio.wait_for(task, 5)
            assert isinstance(info.value, NestpyError)
            assert private_broker.url in str(info.value)
        assert client.pending_requests == 0
        # while the broker is down, the timeout still ends a request
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(client.send("sum", [1], timeout=0.3), 5)
        with caplog.at_level(logging.WARNING, logger="nestpy.mqtt.server"):
            controller.release.set()  # the service's replies are lost, and it says so
            await eventually(lambda: caplog.text.count("A reply was lost") >= 2)
        private_broker.start()
        # both reconnect by themselves (the timed-out request did not stop the client's loop)
        for status in (peers.apps[0].status, client.status):
            await asyncio.wait_for(status.wait_for(MqttStatus.CONNECTED), 10)
        assert await answered(client.send("sum", [2, 3], timeout=0.5)) == 5
    finally:
        await peers.close()


async def test_refused_reply_subscription_fails_the_call(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int
) -> None:
    broker = dynsec_broker(broker_factory, "alice", "secret", deny="forbidden/+/reply")
    peers = Harness(broker.url, mqtt_version)
    try:
        await peers.service(HoldController, username="alice", password="secret")
        client = peers.client(client_id="refused", username="alice", password="secret")
        for _ in range(2):  # a refusal is not remembered as a success
            with pytest.raises(MqttSubscribeError, match="forbidden/x/reply"):
                await client.send("forbidden/x", 1, timeout=5)
        assert client.pending_requests == 0
        assert await client.send("sum", [4], timeout=5) == 4
    finally:
        await peers.close()
    published = [topic for kind, topic, _ in client_packets(broker, "refused") if kind == "PUBLISH"]
    assert published == ["sum"]  # the refused requests were never sent


async def test_invalid_pattern_or_data_fails_at_once(harness: Harness) -> None:
    client = harness.client()
    for pattern, data in ((None, 1), ("sum", None)):
        with pytest.raises(InvalidMessageError, match=r"invalid data or message pattern"):
            client.send(pattern, data)
        with pytest.raises(InvalidMessageError):
            client.emit(pattern, data)
    assert client.status.current is None  # nothing was even connected


async def test_lazy_connect_close_and_connect_again(harness: Harness) -> None:
    await hold_service(harness)
    client = harness.client()
    assert client.status.current is None
    assert await client.send("sum", [1], timeout=5) == 1  # connects lazily
    await client.connect()  # idempotent
    await client.close()
    assert client.status.current is MqttStatus.CLOSED
    assert await client.send("sum", [2], timeout=5) == 2  # and again after close()
    assert client.status.current is MqttStatus.CONNECTED
