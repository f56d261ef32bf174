"""No caller waits forever: every request ends with a reply, an error or its timeout (30 s by
default), when the service stalls, when the broker is down, when a request is lost right after
a reconnect; and on MQTT 5 the broker learns the request's deadline (Message Expiry Interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from transport_support import Harness, eventually

from nestpy import Controller
from nestpy.microservices import (
    ConnectionLostError,
    MessagePattern,
    RequestTimeoutError,
    ResponseStream,
)
from nestpy_mqtt import ClientMqtt, MqttOptions, MqttPublishError, MqttRecordBuilder, MqttStatus
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
SERVICE = Path(__file__).with_name("deadline_service.py")
ROOT = Path(__file__).parents[2]


@Controller()
class EchoController:
    @MessagePattern("deadline/echo")
    async def echo(self, data: Any) -> Any:
        return data

    @MessagePattern("deadline/count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i


class ServiceProcess:
    """``deadline_service.py`` in a subprocess: ``stall()`` freezes it (SIGSTOP) as a hung
    host or a stalled link would, ``resume()`` thaws it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, url: str) -> ServiceProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SERVICE),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's nestpy
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"ready", f"the service exited at start-up: {line!r}"
        return cls(process)

    def stall(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.resume()
            self.process.kill()
            await self.process.wait()


async def answered(request: ResponseStream, attempts: int = 20) -> Any:
    """The reply to ``request``, sent again on a timeout (after a restart, a request can
    overtake the service's restored subscriptions and be lost, as in Nest)."""
    for _ in range(attempts - 1):
        with contextlib.suppress(RequestTimeoutError):
            return await request
    return await request


def test_the_default_request_timeout_is_finite() -> None:
    assert MqttOptions().request_timeout == 30.0
    assert MqttOptions(request_timeout=None).request_timeout is None  # still "no limit"


@pytest.mark.timeout(150)
async def test_requests_to_a_stalled_service_end_by_the_default_timeout(
    private_broker: MosquittoBroker,
) -> None:
    service = await ServiceProcess.start(private_broker.url)
    client = ClientMqtt(MqttOptions(url=private_broker.url, reconnect_min_delay=0.05))
    try:
        assert await client.send("deadline/sum", [1, 2]) == 3  # subscriptions in place
        assert [v async for v in client.send("deadline/count", 2)] == [0, 1]
        service.stall()
        started = time.monotonic()

        async def stream() -> list[int]:
            return [v async for v in client.send("deadline/count", 3)]

        requests = [asyncio.ensure_future(client.send("deadline/sum", [i])) for i in range(200)]
        requests.append(asyncio.ensure_future(stream()))
        done, hung = await asyncio.wait(requests, timeout=45)
        for request in hung:
            request.cancel()
        assert not hung, f"{len(hung)} of {len(requests)} requests still waiting after 45 s"
        elapsed = time.monotonic() - started
        for request in done:
            error = request.exception()
            assert isinstance(error, RequestTimeoutError), error
            assert "within 30 s" in str(error)
            assert error.sent
        assert 29 < elapsed < 45
        assert client.pending_requests == 0

        # Lost right after a reconnect: the broker restarts while the service is frozen, so
        # the client is back before the service has subscribed again. Only a timeout ends it.
        private_broker.restart()
        await asyncio.wait_for(client.status.wait_for(MqttStatus.CONNECTED), 20)
        with pytest.raises(RequestTimeoutError) as info:
            await client.send("deadline/sum", [5], timeout=1)
        assert info.value.sent
        assert "Is a service subscribed" in str(info.value)
        service.resume()
        assert await answered(client.send("deadline/sum", [2, 3], timeout=1)) == 5
    finally:
        await client.close()
        await service.stop()


async def test_requests_issued_while_the_broker_is_down_end_by_their_timeout_and_say_why(
    private_broker: MosquittoBroker,
) -> None:
    peers = Harness(private_broker.url)
    try:
        await peers.service(EchoController)
        client = peers.client(client_id="deadline-down")
        assert await client.send("deadline/echo", 1, timeout=5) == 1
        private_broker.stop()
        await eventually(lambda: client.status.current is not MqttStatus.CONNECTED)

        async def stream() -> list[int]:
            return [v async for v in client.send("deadline/count", 2, timeout=0.5)]

        requests = [client.send("deadline/echo", i, timeout=0.5) for i in range(20)]
        results = await asyncio.wait_for(
            asyncio.gather(*requests, stream(), return_exceptions=True), 10
        )
        assert client.pending_requests == 0
        for result in results:
            assert isinstance(result, RequestTimeoutError), result
            assert not result.sent
            assert "the request was never sent" in str(result)
            assert f"not connected to {private_broker.url}" in str(result)
            assert "last error" in str(result)
        # A client that never connected says so too.
        never = peers.client(client_id="deadline-never")
        with pytest.raises(RequestTimeoutError, match="never sent, the client is not connected"):
            await asyncio.wait_for(never.send("deadline/echo", 1, timeout=0.5), 10)
    finally:
        await peers.close()


async def test_a_request_not_yet_sent_when_the_link_drops_waits_and_is_sent_after_the_reconnect(
    private_broker: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A request waiting for its reply subscription when the link drops was never published:
    it is not failed with ``ConnectionLostError`` but sent once the client is back."""
    peers = Harness(private_broker.url)
    try:
        await peers.service(EchoController)
        client = peers.client(
            client_id="deadline-unsent", reconnect_min_delay=1.0, reconnect_max_delay=1.0
        )
        await client.connect()
        assert private_broker._process is not None
        os.kill(private_broker._process.pid, signal.SIGSTOP)  # no SUBACK will come
        request = asyncio.ensure_future(client.send("deadline/echo", "after", timeout=30))
        await eventually(lambda: client.pending_requests == 1)
        with caplog.at_level(logging.WARNING, logger="nestpy.mqtt.connection"):
            private_broker.kill()
            # The client found the broker gone and waits 1 s before its next attempt.
            await eventually(lambda: "(client id 'deadline-unsent')" in caplog.text, 10)
        assert not request.done()
        private_broker.start()  # the service is back within 0.2 s, the client after 1 s
        assert await asyncio.wait_for(request, 30) == "after"
    finally:
        await peers.close()


async def test_a_request_sent_when_the_link_drops_fails_at_once(
    private_broker: MosquittoBroker,
) -> None:
    peers = Harness(private_broker.url)
    try:
        await peers.service(EchoController)
        client = peers.client()
        assert await client.send("deadline/echo", 1, timeout=5) == 1
        assert private_broker._process is not None
        os.kill(private_broker._process.pid, signal.SIGSTOP)  # the request gets no reply
        request = asyncio.ensure_future(client.send("deadline/echo", 2, timeout=30))
        await eventually(lambda: client.pending_requests == 1)
        private_broker.kill()
        with pytest.raises(ConnectionLostError, match="may or may not have been handled"):
            await asyncio.wait_for(request, 10)
    finally:
        await peers.close()


class ExpirySubscriber:
    """A plain paho MQTT 5 subscriber that records each request's (not reply's) Message
    Expiry Interval and user properties."""

    def __init__(self, broker: MosquittoBroker, topic: str) -> None:
        self.received: list[tuple[bytes, int | None, dict[str, str]]] = []
        self._subscribed = threading.Event()
        self._paho = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._paho.on_message = self._on_message
        self._paho.on_subscribe = lambda *_: self._subscribed.set()
        self._paho.connect(broker.host, broker.port)
        self._paho.subscribe(topic, qos=0)
        self._paho.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith("/reply"):
            return
        props = message.properties
        expiry = getattr(props, "MessageExpiryInterval", None)
        users = dict(getattr(props, "UserProperty", []))
        self.received.append((bytes(message.payload), expiry, users))

    async def ready(self) -> None:
        assert await asyncio.to_thread(self._subscribed.wait, 10)

    def close(self) -> None:
        self._paho.disconnect()
        self._paho.loop_stop()

    def expiry_of(self, data: str) -> tuple[int | None, dict[str, str]]:
        marker = f'"data":"{data}"'.encode()
        found = [(e, u) for payload, e, u in self.received if marker in payload]
        assert len(found) == 1, (data, self.received)
        return found[0]


async def test_mqtt5_requests_expire_when_their_caller_stops_waiting(
    private_broker: MosquittoBroker,
) -> None:
    subscriber = ExpirySubscriber(private_broker, "deadline/#")
    peers = Harness(private_broker.url, protocol_version=5)
    try:
        await subscriber.ready()
        await peers.service(EchoController)
        client = peers.client(user_properties={"tenant": "t"})
        assert await client.send("deadline/echo", "default") == "default"
        assert await client.send("deadline/echo", "short", timeout=0.2) == "short"
        assert await client.send("deadline/echo", "fraction", timeout=2.5) == "fraction"
        assert await client.send("deadline/echo", "unbounded", timeout=math.inf) == "unbounded"
        own = MqttRecordBuilder("own").set_properties(message_expiry_interval=100).build()
        assert await client.send("deadline/echo", own, timeout=5) == "own"
        tagged = MqttRecordBuilder("tagged").set_properties(user_properties={"k": "v"}).build()
        assert await client.send("deadline/echo", tagged, timeout=7) == "tagged"
        qos1 = MqttRecordBuilder("qos1").set_qos(1).build()
        assert await client.send("deadline/echo", qos1, timeout=9) == "qos1"
        await client.emit("deadline/event", "event")
        await eventually(lambda: len(subscriber.received) == 8)
    finally:
        await peers.close()
        subscriber.close()

    def expiry(data: str) -> int | None:
        return subscriber.expiry_of(data)[0]

    def about(seconds: int) -> range:
        # Mosquitto forwards the remaining interval: one less if a second boundary passed.
        return range(seconds - 1, seconds + 1)

    assert expiry("default") in about(30)  # the client's request_timeout
    assert expiry("short") in about(1)  # rounded up, at least 1 s
    assert expiry("fraction") in about(3)
    assert expiry("unbounded") is None
    assert expiry("own") in about(100)  # the record's own value wins
    assert subscriber.expiry_of("tagged") in [(s, {"tenant": "t", "k": "v"}) for s in about(7)]
    assert subscriber.expiry_of("default")[1] == {"tenant": "t"}
    assert expiry("qos1") in about(9)
    assert expiry("event") is None  # events have no caller waiting


async def test_an_mqtt5_qos1_request_the_broker_refuses_fails_at_once(
    broker_factory: Any,
) -> None:
    broker = broker_factory(
        acl="topic read deadline/forbidden/reply\ntopic readwrite deadline/echo/#"
    ).start()
    peers = Harness(broker.url, protocol_version=5)
    try:
        client = peers.client()
        refused = MqttRecordBuilder(1).set_qos(1).build()
        with pytest.raises(MqttPublishError, match="Not authorized"):
            await asyncio.wait_for(client.send("deadline/forbidden", refused, timeout=30), 10)
        assert client.pending_requests == 0
    finally:
        await peers.close()
