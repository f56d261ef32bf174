"""Handlers that raise, hang or are slow: the caller gets Nest's error shape or a timeout, and the
service keeps answering everyone else."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from transport_support import Harness, Sniffer, eventually, make_module

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, RequestTimeoutError, RpcException

pytestmark = pytest.mark.mqtt

TIMED_OUT = {"status": "error", "message": "Handler timed out after 0.3 s"}


@Controller()
class FaultyController:
    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.release = threading.Event()

    @MessagePattern("faults/ok")
    def ok(self, data: int) -> int:
        return data + 1

    @MessagePattern("faults/raise")
    async def boom(self, data: Any) -> None:
        raise RuntimeError("secret internal detail")

    @MessagePattern("faults/hang", timeout=0.3)
    async def hang(self, data: Any) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            self.cancelled.append("hang")

    @MessagePattern("faults/hang_default")
    async def hang_default(self, data: Any) -> None:
        await asyncio.sleep(3600)

    @MessagePattern("faults/slow_stream", timeout=0.3)
    async def slow_stream(self, data: Any) -> AsyncIterator[int]:
        yield 1
        await asyncio.sleep(3600)
        yield 2

    @MessagePattern("faults/blocking", run_in_thread=True, timeout=0.3)
    def blocking(self, data: Any) -> str:
        self.release.wait(10)
        return "late"

    @MessagePattern("faults/slow")
    async def slow(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    @MessagePattern("faults/sync_fail")
    def sync_fail(self, data: Any) -> Iterator[int]:
        yield 1
        yield 2
        raise RpcException("after two")

    @EventPattern("faults/event_hang", timeout=0.3)
    async def event_hang(self, data: Any) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            self.cancelled.append("event")


@pytest.fixture
async def service(harness: Harness) -> Any:
    return await harness.app(make_module([FaultyController]), server={"handler_timeout": 1.0})


async def test_a_raising_handler_gets_nests_error_shape(harness: Harness, service: Any) -> None:
    client = harness.client()
    with pytest.raises(RpcException) as info:
        await client.send("faults/raise", 1, timeout=5)
    assert info.value.error == {"status": "error", "message": "Internal server error"}
    assert await client.send("faults/ok", 1, timeout=5) == 2


async def test_a_hanging_handler_is_cancelled_and_answered(harness: Harness, service: Any) -> None:
    client = harness.client()
    hung = [asyncio.ensure_future(client.send("faults/hang", i, timeout=5)) for i in range(3)]
    # Meanwhile everyone else is served.
    assert await asyncio.gather(*(client.send("faults/ok", i, timeout=5) for i in range(20))) == [
        i + 1 for i in range(20)
    ]
    for request in hung:
        with pytest.raises(RpcException) as info:
            await request
        assert info.value.error == TIMED_OUT
    assert service.get(FaultyController).cancelled == ["hang"] * 3


async def test_server_wide_handler_timeout(harness: Harness, service: Any) -> None:
    started = time.monotonic()
    with pytest.raises(RpcException) as info:
        await harness.client().send("faults/hang_default", 1, timeout=5)
    assert info.value.error == {"status": "error", "message": "Handler timed out after 1 s"}
    assert time.monotonic() - started < 4


async def test_a_stream_that_stalls_sends_its_values_then_the_timeout(
    harness: Harness, service: Any, sniffer: Sniffer
) -> None:
    client = harness.client()
    values: list[int] = []
    with pytest.raises(RpcException) as info:
        await collect(client.send("faults/slow_stream", 1, timeout=5), values)
    assert values == [1]
    assert info.value.error == TIMED_OUT
    replies = [json.loads(m.payload) for m in await sniffer.wait("faults/slow_stream/reply", 2)]
    rid = replies[0]["id"]
    assert replies == [
        {"response": 1, "id": rid},
        {"err": TIMED_OUT, "isDisposed": True, "id": rid},
    ]


async def test_a_blocking_thread_handler_is_answered_at_its_timeout(
    harness: Harness, service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The thread cannot be killed; the caller is answered anyway, and its late value dropped."""
    caplog.set_level(logging.WARNING)
    controller: FaultyController = service.get(FaultyController)
    with pytest.raises(RpcException) as info:
        await harness.client().send("faults/blocking", 1, timeout=5)
    assert info.value.error == TIMED_OUT
    controller.release.set()
    assert "FaultyController.blocking: Handler timed out after 0.3 s" in caplog.text


async def test_a_hanging_event_handler_is_cancelled_and_logged(
    harness: Harness, service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await harness.client().emit("faults/event_hang", 1)
    controller: FaultyController = service.get(FaultyController)
    await eventually(lambda: controller.cancelled == ["event"])
    assert "Event handler FaultyController.event_hang timed out after 0.3 s" in caplog.text


async def test_a_slow_handler_and_a_caller_that_gives_up(harness: Harness, service: Any) -> None:
    client = harness.client()
    with pytest.raises(RequestTimeoutError):
        await client.send("faults/slow", 0.8, timeout=0.2)
    assert await client.send("faults/slow", 0.1, timeout=5) == 0.1
    assert await client.send("faults/ok", 41, timeout=5) == 42


async def test_a_sync_generator_that_raises_keeps_its_last_value(
    harness: Harness, service: Any, sniffer: Sniffer
) -> None:
    """Nest sends every value the generator produced, then the error."""
    client = harness.client()
    values: list[int] = []
    with pytest.raises(RpcException) as info:
        await collect(client.send("faults/sync_fail", 1, timeout=5), values)
    assert values == [1, 2]
    assert info.value.error == {"status": "error", "message": "after two"}
    replies = [json.loads(m.payload) for m in await sniffer.wait("faults/sync_fail/reply", 3)]
    rid = replies[0]["id"]
    assert replies == [
        {"response": 1, "id": rid},
        {"response": 2, "id": rid},
        {"err": {"status": "error", "message": "after two"}, "isDisposed": True, "id": rid},
    ]


async def collect(stream: Any, into: list[Any]) -> None:
    async for value in stream:
        into.append(value)


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        MessagePattern("x", timeout=0)
