"""The broker dies mid-traffic, or is not there at start: both sides reconnect with backoff, say
what they wait for, and lose nothing they promised (QoS 1 on a persistent session)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from transport_support import Harness, eventually, make_module

from nestpy import Controller
from nestpy.microservices import (
    ConnectionLostError,
    EventPattern,
    MessagePattern,
    RequestTimeoutError,
)
from nestpy_mqtt import MqttRecordBuilder, MqttStatus
from nestpy_mqtt.errors import MqttConnectionError
from nestpy_mqtt.testing import MosquittoBroker, free_port

pytestmark = pytest.mark.mqtt
C, D, R = MqttStatus.CONNECTED, MqttStatus.DISCONNECTED, MqttStatus.RECONNECTING


@Controller()
class TrafficController:
    def __init__(self) -> None:
        self.events: list[int] = []

    @MessagePattern("traffic/sum")
    async def sum(self, data: list[int]) -> int:
        await asyncio.sleep(0.02)  # so that requests are in flight when the broker dies
        return sum(data)

    @EventPattern("traffic/event", qos=1)
    def event(self, n: int) -> None:
        self.events.append(n)


_consumers: set[asyncio.Task[None]] = set()


def statuses(target: Any) -> list[MqttStatus]:
    """Every status ``target`` reports from now on (collected until its stream closes)."""
    seen: list[MqttStatus] = []

    async def consume() -> None:
        async for status in target.status:
            seen.append(status)

    task = asyncio.ensure_future(consume())
    _consumers.add(task)
    task.add_done_callback(_consumers.discard)
    return seen


async def first_success(send: Callable[[], Any], within: float) -> float:
    """Seconds until ``send()`` succeeds (retrying lost or timed-out requests) within ``within``."""
    started = time.monotonic()
    while True:
        try:
            await send()
            return time.monotonic() - started
        except (RequestTimeoutError, ConnectionLostError):
            if time.monotonic() - started > within:
                raise


async def test_broker_killed_mid_traffic(
    private_broker: MosquittoBroker, mqtt_version: int
) -> None:
    """Clean sessions: requests in flight fail with ConnectionLostError (none hangs), both sides
    go reconnecting then connected, and requests succeed again within 2 s."""
    peers = Harness(private_broker.url, mqtt_version)
    try:
        app = await peers.app(make_module([TrafficController]))
        client = peers.client()
        await client.connect()
        seen = [statuses(app), statuses(client)]
        outcomes: dict[str, int] = {"ok": 0, "lost": 0, "timeout": 0}
        stop = asyncio.Event()

        async def requester() -> None:
            while not stop.is_set():
                try:
                    assert await client.send("traffic/sum", [1, 2], timeout=2) == 3
                    outcomes["ok"] += 1
                except ConnectionLostError:
                    outcomes["lost"] += 1
                except RequestTimeoutError:
                    outcomes["timeout"] += 1

        async def emitter() -> None:
            n = 0
            while not stop.is_set():
                with contextlib.suppress(ConnectionError):
                    await client.emit("traffic/event", MqttRecordBuilder(n).set_qos(1).build())
                n += 1
                await asyncio.sleep(0.002)

        tasks = [asyncio.ensure_future(requester()) for _ in range(8)]
        tasks.append(asyncio.ensure_future(emitter()))
        await eventually(lambda: outcomes["ok"] >= 100, timeout=10)
        private_broker.kill()
        await eventually(lambda: all(s[-1:] == [R] for s in seen))
        private_broker.start()
        restarted = time.monotonic()
        await eventually(lambda: all(s[-1:] == [C] for s in seen), timeout=10)
        back = time.monotonic() - restarted
        latency = await first_success(lambda: client.send("traffic/sum", [2], timeout=0.5), 2)
        ok_before = outcomes["ok"]
        await eventually(lambda: outcomes["ok"] >= ok_before + 50, timeout=10)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)  # nothing hangs

        for stream in seen:
            assert stream[:4] == [C, D, R, C]
        assert outcomes["lost"] >= 1  # the requests in flight when the broker died
        assert client.pending_requests == 0
        print(
            f"\nbroker kill, MQTT {mqtt_version}: {outcomes}, both connected {back:.2f} s after "
            f"the restart, first request answered {latency:.3f} s later, "
            f"{len(app.get(TrafficController).events)} events handled"
        )
    finally:
        await peers.close()


@pytest.mark.parametrize("stop", ["stop", "kill"])
async def test_persistent_session_loses_no_qos1_event(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int, stop: str
) -> None:
    """clean_session=False, QoS 1, broker persistence: every event emitted arrives, across a
    broker restart. A SIGKILL (``kill``) needs Mosquitto to save its database on every change
    (``autosave_on_changes``); a SIGTERM (``stop``) saves it on the way down."""
    autosave = ["autosave_on_changes true", "autosave_interval 1"] if stop == "kill" else []
    broker = broker_factory(persistence=True, extra_config=autosave).start()
    peers = Harness(broker.url, mqtt_version)
    session: dict[str, Any] = {"clean_session": False}
    if mqtt_version == 5:
        session["session_expiry_interval"] = 3600
    total = 400
    try:
        app = await peers.app(
            make_module([TrafficController]), client_id=f"persist-svc-{stop}", **session
        )
        client = peers.client(client_id=f"persist-pub-{stop}", **session)
        await client.connect()
        controller: TrafficController = app.get(TrafficController)

        async def emit(n: int) -> None:
            await client.emit("traffic/event", MqttRecordBuilder(n).set_qos(1).build())

        sent: list[asyncio.Future[None]] = []
        for n in range(total):
            sent.append(asyncio.ensure_future(emit(n)))
            if n == total // 2:
                await eventually(lambda: len(controller.events) > 0)
                getattr(broker, stop)()
                await asyncio.sleep(0.3)  # events emitted now wait for the broker
                broker.start()
            await asyncio.sleep(0.001)
        await asyncio.wait_for(asyncio.gather(*sent), 15)
        await eventually(lambda: set(controller.events) == set(range(total)), timeout=15)
        print(
            f"\npersistent session, {stop}, MQTT {mqtt_version}: {total} QoS 1 events, "
            f"{len(controller.events)} deliveries ({len(controller.events) - total} duplicates)"
        )
    finally:
        await peers.close()


async def test_broker_down_at_start_listen_and_connect_wait_and_say_so(
    broker_factory: Callable[..., MosquittoBroker], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="nestpy.mqtt")
    broker = broker_factory()
    peers = Harness(broker.url)
    try:
        app = await peers.app(make_module([TrafficController]), listen=False, client_id="early-svc")
        client = peers.client(client_id="early-client")
        starting = asyncio.ensure_future(asyncio.gather(app.listen(), client.connect()))
        await eventually(lambda: caplog.text.count("waiting for the MQTT broker") >= 6)
        assert not starting.done()
        broker.start()
        await asyncio.wait_for(starting, 10)
        assert await client.send("traffic/sum", [1, 1], timeout=5) == 2
    finally:
        await peers.close()
    for who in ("early-svc", "early-client"):
        lines = [m for m in caplog.messages if repr(who) in m and "waiting" in m]
        assert lines
        assert all(broker.url in m and "Connection refused" in m for m in lines)
        delays = [float(d) for d in re.findall(r"retrying in ([\d.]+) s", "\n".join(lines))]
        # exponential backoff with jitter: 0.05-0.1 s, then 0.05-0.2 s (the maximum)
        assert 0.05 <= delays[0] <= 0.1
        assert all(0.05 <= d <= 0.2 for d in delays)


async def test_connect_timeout_names_the_url() -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    peers = Harness(url)
    try:
        app = await peers.app(make_module([TrafficController]), listen=False, connect_timeout=0.5)
        client = peers.client(connect_timeout=0.5)
        for starting in (app.listen(), client.connect()):
            with pytest.raises(MqttConnectionError) as info:
                await starting
            assert url in str(info.value)
            assert "within 0.5 s" in str(info.value)
    finally:
        await peers.close()
