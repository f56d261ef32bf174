"""Handlers over Mosquitto: request scope and CONTEXT, validation, threads, concurrency,
guards, interceptors and exception filters."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from transport_support import Harness, eventually, make_module

from nestpy import Controller, Inject, Injectable, Scope
from nestpy.microservices import (
    CONTEXT,
    Catch,
    ExecutionContext,
    MessagePattern,
    Payload,
    RequestContext,
    RpcException,
    UseFilters,
    UseGuards,
    UseInterceptors,
)
from nestpy_mqtt import MqttContext, MqttStatus

pytestmark = pytest.mark.mqtt
_serials = itertools.count(1)


@Injectable(scope=Scope.REQUEST)
class RequestInfo:
    def __init__(self, request: Annotated[RequestContext, Inject(CONTEXT)]) -> None:
        self.request = request
        self.serial = next(_serials)


@Injectable()
class Counter:
    def __init__(self) -> None:
        self.created = next(_serials)


@Controller()
class ScopedController:
    def __init__(self, info: RequestInfo, counter: Counter) -> None:
        self.info = info
        self.counter = counter

    @MessagePattern("scoped/+")
    async def whoami(self, data: Any, ctx: MqttContext) -> dict[str, Any]:
        await asyncio.sleep(0)
        request = self.info.request
        assert request.context is ctx
        return {
            "serial": self.info.serial,
            "counter": self.counter.created,
            "pattern": request.pattern,
            "data": request.data,
            "topic": ctx.get_topic(),
        }

    @MessagePattern("scoped_stream")
    async def stream(self, n: int) -> AsyncIterator[int]:
        for _ in range(n):
            yield self.info.serial


class Point(BaseModel):
    x: int
    y: int


@Controller()
class WorkController:
    def __init__(self) -> None:
        self.unblocked = threading.Event()
        self.released = asyncio.Event()
        self.slow_started = False
        self.in_flight = 0
        self.peak = 0
        self.all_in = asyncio.Event()

    @MessagePattern("blocking", run_in_thread=True)
    def blocking(self, data: Any) -> dict[str, Any]:
        return {"unblocked": self.unblocked.wait(5), "main": _on_main_thread()}

    @MessagePattern("unblock")
    def unblock(self, data: Any) -> bool:
        self.unblocked.set()
        return _on_main_thread()

    @MessagePattern("slow")
    async def slow(self, data: Any) -> bool:
        self.slow_started = True
        await asyncio.wait_for(self.released.wait(), 5)
        return True

    @MessagePattern("release")
    def release(self, data: Any) -> None:
        self.released.set()

    @MessagePattern("gather")
    async def gather(self, expected: int) -> int:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight == expected:
            self.all_in.set()
        try:
            await asyncio.wait_for(self.all_in.wait(), 5)
        finally:
            self.in_flight -= 1
        return self.peak

    @MessagePattern("point")
    def point(
        self, p: Annotated[Point, Payload("point")], label: Annotated[str, Payload("label")]
    ) -> str:
        return f"{label}:{p.x},{p.y}"


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class TokenGuard:
    def can_activate(self, context: ExecutionContext) -> bool:
        data = context.switch_to_rpc().get_data()
        return isinstance(data, dict) and data.get("token") == "secret"


class Doubling:
    async def intercept(self, context: ExecutionContext, call_next: Any) -> Any:
        return 2 * await call_next()


@Catch(KeyError)
class MissingKey:
    def catch(self, exception: KeyError, host: ExecutionContext) -> Any:
        raise RpcException({"code": "missing", "key": exception.args[0]})


@Controller()
@UseGuards(TokenGuard)
class OrdersController:
    @MessagePattern("orders/total")
    @UseInterceptors(Doubling)
    @UseFilters(MissingKey)
    def total(self, data: dict[str, Any]) -> int:
        return int(data["n"])


async def test_request_scoped_providers_are_new_per_message_and_get_the_context(
    harness: Harness,
) -> None:
    await harness.service(ScopedController, providers=[RequestInfo, Counter])
    client = harness.client()
    replies = await asyncio.gather(
        *(client.send(f"scoped/{i}", {"i": i}, timeout=5) for i in range(10))
    )
    assert [(r["pattern"], r["data"], r["topic"]) for r in replies] == [
        (f"scoped/{i}", {"i": i}, f"scoped/{i}") for i in range(10)
    ]
    assert len({r["serial"] for r in replies}) == 10  # one RequestInfo per message
    assert len({r["counter"] for r in replies}) == 1  # the singleton stays one
    first, second = [await client.send("scoped_stream", 3, timeout=5) for _ in range(2)]
    values = [v async for v in client.send("scoped_stream", 3, timeout=5)]
    assert len(set(values)) == 1  # one instance for the whole stream
    assert len({first, second, values[0]}) == 3


async def test_payload_keys_are_validated(harness: Harness) -> None:
    await harness.service(WorkController)
    client = harness.client()
    good = {"point": {"x": "1", "y": 2}, "label": "p"}
    assert await client.send("point", good, timeout=5) == "p:1,2"
    with pytest.raises(RpcException) as info:
        await client.send("point", {"point": {"x": 1}, "label": "p"}, timeout=5)
    error = info.value.error
    assert error["message"] == "Payload validation failed"
    assert [(e["loc"], e["type"]) for e in error["errors"]] == [(["y"], "missing")]


async def test_run_in_thread_handler_does_not_block_the_loop(harness: Harness) -> None:
    await harness.service(WorkController)
    client = harness.client()
    blocked = asyncio.ensure_future(client.send("blocking", 1, timeout=10))
    assert await client.send("unblock", 1, timeout=5) is True  # a plain def runs on the loop
    assert await blocked == {"unblocked": True, "main": False}


async def test_a_slow_handler_does_not_block_others(harness: Harness) -> None:
    await harness.service(WorkController)
    client = harness.client()
    slow = asyncio.ensure_future(client.send("slow", 1, timeout=10))
    assert await client.send("release", 1, timeout=5) is None
    assert await slow is True


async def test_many_requests_in_flight_at_once(harness: Harness) -> None:
    await harness.service(WorkController)
    client = harness.client()
    peaks = await asyncio.gather(*(client.send("gather", 100, timeout=10) for _ in range(100)))
    assert max(peaks) == 100  # every handler call was running at the same time


async def test_max_concurrency_bounds_the_handlers_running_at_once(harness: Harness) -> None:
    app = await harness.app(make_module([WorkController]), server={"max_concurrency": 3})
    client = harness.client()
    replies = [client.send("gather", 3, timeout=10) for _ in range(12)]
    assert set(await asyncio.gather(*replies)) == {3}
    assert app.get(WorkController).peak == 3


async def test_guards_interceptors_and_filters(harness: Harness) -> None:
    await harness.service(OrdersController)
    client = harness.client()
    assert await client.send("orders/total", {"token": "secret", "n": 21}, timeout=5) == 42
    with pytest.raises(RpcException) as denied:
        await client.send("orders/total", {"n": 1}, timeout=5)
    assert denied.value.error == {"status": "error", "message": "Forbidden resource"}
    with pytest.raises(RpcException) as caught:
        await client.send("orders/total", {"token": "secret"}, timeout=5)
    assert caught.value.error == {"code": "missing", "key": "n"}


async def test_close_lets_in_flight_handlers_reply(harness: Harness) -> None:
    app = await harness.service(WorkController)
    client = harness.client()
    slow = asyncio.ensure_future(client.send("slow", 1, timeout=10))
    controller: WorkController = app.get(WorkController)
    await eventually(lambda: controller.slow_started)
    closing = asyncio.ensure_future(app.close())
    await asyncio.sleep(0)
    controller.released.set()
    assert await slow is True
    await closing
    assert app.status.current is MqttStatus.CLOSED


async def test_run_serves_until_sigterm_then_shuts_down(harness: Harness) -> None:
    app = await harness.app(make_module([WorkController]), listen=False)
    running = asyncio.ensure_future(app.run())
    await asyncio.wait_for(app.status.wait_for(MqttStatus.CONNECTED), 5)
    assert await harness.client().send("unblock", 1, timeout=5) is True
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, 5)
    assert app.status.current is MqttStatus.CLOSED
