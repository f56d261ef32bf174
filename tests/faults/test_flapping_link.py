"""A flapping link is not a duplicate client id: connections reset by the network (through
``FaultProxy``) neither stretch the reconnect backoff nor raise ``MqttClientIdConflictError``;
a fleet reconnects spread out in time; a real duplicate client id is still reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fault_proxy import FaultProxy
from transport_support import FAST, eventually

from nestpy_mqtt import MqttOptions
from nestpy_mqtt._reconnect import Backoff
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.errors import MqttClientIdConflictError
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
Opener = Callable[..., MqttConnection]


@pytest.fixture
async def open_connection() -> AsyncIterator[Opener]:
    """``open_connection(url, **options)``: a connection (not connected), closed after the test;
    its ``error`` events are collected in ``conn.errors``."""
    made: list[MqttConnection] = []

    def open_(url: str, **options: Any) -> MqttConnection:
        conn = MqttConnection(MqttOptions(url=url, **options), on_message=lambda _m: None)
        errors: list[BaseException] = []
        conn.on("error", errors.append)
        conn.errors = errors  # type: ignore[attr-defined]
        made.append(conn)
        return conn

    yield open_
    for conn in made:
        await conn.close()


def conflicts(conn: MqttConnection) -> list[BaseException]:
    errors: list[BaseException] = conn.errors  # type: ignore[attr-defined]
    return [e for e in errors if isinstance(e, MqttClientIdConflictError)]


async def test_resets_then_an_outage_recover_quickly_without_a_false_conflict(
    private_broker: MosquittoBroker,
    fault_proxy: FaultProxy,
    open_connection: Opener,
    mqtt_version: int,
) -> None:
    # The default backoff (1 s to 30 s): six resets used to count as "kicks" and push it to
    # 30 s, so that a 2 s broker outage right after took 28 s to recover from.
    conn = open_connection(
        fault_proxy.url, protocol_version=mqtt_version, client_id=f"flappy-{mqtt_version}"
    )
    drops: list[str] = []
    conn.on("disconnect", drops.append)
    await conn.connect()
    await conn.subscribe("flap/echo", qos=1)
    published: list[asyncio.Future[None] | None] = []
    for n in range(6):
        await eventually(lambda: conn.is_connected, timeout=15)
        if n % 2:  # a reset in the middle of the PUBLISH coming back to us
            cut = fault_proxy.reset_mid_packet("down")
            published.append(conn.publish("flap/echo", b"x" * 2000, qos=1))
            assert await asyncio.wait_for(cut, 10) > 0
        else:  # a reset of an idle link
            (await fault_proxy.wait_established()).reset()
        await eventually(lambda count=n + 1: len(drops) >= count)  # type: ignore[misc]
    await eventually(lambda: conn.is_connected, timeout=15)

    private_broker.stop()
    await eventually(lambda: len(drops) > 6)
    await asyncio.sleep(2)
    private_broker.start()
    back = time.monotonic()
    await eventually(lambda: conn.is_connected, timeout=45)
    recovery = time.monotonic() - back
    print(
        f"\nMQTT {mqtt_version}: 6 resets, then a 2 s outage: connected {recovery:.2f} s after "
        f"the broker came back; {len(conflicts(conn))} client id conflicts reported"
    )
    assert conflicts(conn) == []
    assert recovery < 10  # typically 0-2 s: the next retry waits 1 to 2-4 s
    await asyncio.wait_for(asyncio.gather(*filter(None, published)), 15)  # resent, acknowledged


async def test_a_fleet_reset_at_once_does_not_reconnect_in_lockstep(
    fault_proxy: FaultProxy, open_connection: Opener
) -> None:
    fleet = [open_connection(fault_proxy.url, client_id=f"fleet-{i}") for i in range(16)]
    await asyncio.gather(*(conn.connect() for conn in fleet))
    back: dict[int, float] = {}
    for i, conn in enumerate(fleet):
        conn.on("connect", lambda _present, i=i: back.setdefault(i, time.monotonic()))

    reset_at = time.monotonic()
    assert await fault_proxy.reset() == len(fleet)
    await eventually(lambda: len(back) == len(fleet), timeout=15)
    delays = sorted(t - reset_at for t in back.values())
    print(f"\n16 connections reset at once came back over {delays[0]:.2f}-{delays[-1]:.2f} s")
    assert delays[-1] - delays[0] > 0.25  # spread over the first 0-1 s (reconnect_min_delay)
    assert all(conn.is_connected for conn in fleet)
    assert all(conflicts(conn) == [] for conn in fleet)


async def test_a_real_duplicate_client_id_is_still_reported_through_the_proxy(
    fault_proxy: FaultProxy, open_connection: Opener, mqtt_version: int
) -> None:
    twins = [
        open_connection(fault_proxy.url, protocol_version=mqtt_version, client_id="twin", **FAST)
        for _ in range(2)
    ]
    for conn in twins:
        await conn.connect()
    await eventually(lambda: any(conflicts(conn) for conn in twins), timeout=15)
    error = next(e for conn in twins for e in conflicts(conn))
    assert "same client id" in str(error)
    assert "'twin'" in str(error)


def test_backoff_grows_with_failures_only_and_is_jittered() -> None:
    fleet = [Backoff(1.0, 30.0) for _ in range(200)]
    firsts = [b.first() for b in fleet]
    assert all(0 <= d <= 1.0 for d in firsts)
    assert max(firsts) - min(firsts) > 0.5  # not in lockstep
    backoff = fleet[0]
    ceilings = [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    for ceiling in ceilings:
        assert 1.0 <= backoff.failed() <= ceiling
    assert backoff.failures == len(ceilings)
    backoff.reset()
    assert 1.0 <= backoff.failed() <= 2.0
    extremes = Backoff(1.0, 30.0, rand=lambda: 1.0)
    assert [extremes.failed() for _ in range(6)] == ceilings
