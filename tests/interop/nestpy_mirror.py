"""``MirrorModule``: nestpy's twin of ``nest_app/service.js`` (same patterns, same logic),
for the tests in which a stock NestJS client calls a nestpy service.

Where Python differs from JavaScript the twin does what a nestpy user would write: ``None`` for
``undefined``/``null``, an empty generator for ``EMPTY``, an async generator for
``interval(5).pipe(take(n))``. ``JsonEdgesModule`` returns values JSON cannot hold as such.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import nest_wire_facts as facts

from nestpy import Controller, Module
from nestpy.microservices import (
    Ctx,
    EventPattern,
    MessagePattern,
    NestMicroservice,
    Payload,
    RpcException,
    Transport,
    create_microservice,
)
from nestpy_mqtt import MqttContext, MqttOptions


@Controller()
class MirrorController:
    """The handlers of ``nest_app/service.js``, written the nestpy way."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    @MessagePattern("sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern(facts.OBJECT_PATTERN)
    def sum_object(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern(facts.MIXED_CASE_PATTERN)
    def mixed_case_object(self, data: Any) -> Any:
        return data

    @MessagePattern("slow")
    async def slow(self, data: int) -> int:
        await asyncio.sleep(data / 1000)
        return data

    @MessagePattern("count_up")
    async def count_up(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0.005)
            yield i

    @MessagePattern("count_up_sync")
    def count_up_sync(self, n: int) -> Iterator[int]:
        yield from range(n)

    @MessagePattern("count_up_late")
    async def count_up_late(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i
        await asyncio.sleep(0.03)

    @MessagePattern("fail_stream")
    async def fail_stream(self, _data: Any) -> AsyncIterator[int]:
        yield 1
        raise RpcException("mid-stream")

    @MessagePattern("empty")
    def empty(self, _data: Any) -> Iterator[Any]:
        yield from ()

    @MessagePattern("none")
    def none(self, _data: Any) -> None:
        return None

    @MessagePattern("null_value")
    def null_value(self, _data: Any) -> None:
        return None

    @MessagePattern("async_value")
    async def async_value(self, data: Any) -> dict[str, Any]:
        await asyncio.sleep(0.005)
        return {"echoed": data}

    @MessagePattern("fail_rpc")
    def fail_rpc(self, _data: Any) -> None:
        raise RpcException("bad")

    @MessagePattern("fail_obj")
    async def fail_obj(self, _data: Any) -> None:
        raise RpcException({"code": 7})

    @MessagePattern("crash")
    def crash(self, _data: Any) -> None:
        raise ValueError("x")

    @MessagePattern("sensors/+/temperature/+")
    async def temperature(self, data: Any, ctx: MqttContext) -> dict[str, Any]:
        return {"topic": ctx.get_topic(), "data": data}

    @MessagePattern("sensors/+")
    def sensor(self, data: Any, ctx: MqttContext) -> dict[str, Any]:
        return {"topic": ctx.get_topic(), "data": data}

    @MessagePattern("echo_props")
    def echo_props(self, _data: Any, ctx: MqttContext) -> dict[str, str] | None:
        # Nest: ctx.getPacket().properties?.userProperties ?? null
        return ctx.get_packet().properties.user_properties or None

    @MessagePattern("echo_packet")
    def echo_packet(self, data: Any, ctx: MqttContext) -> dict[str, Any]:
        packet = ctx.get_packet()
        props = packet.properties.user_properties
        return {
            "data": data,
            "packet": {
                "topic": packet.topic,
                "qos": packet.qos,
                "retain": packet.retain,
                "dup": packet.dup,
                "properties": {"userProperties": props} if props else None,
            },
        }

    @MessagePattern("events_seen")
    def events_seen(self, _data: Any) -> list[dict[str, Any]]:
        return self.events

    @MessagePattern("events_clear")
    def events_clear(self, _data: Any) -> int:
        n, self.events = len(self.events), []
        return n

    @EventPattern("user_created")
    async def user_created(
        self, data: Annotated[Any, Payload()], ctx: Annotated[MqttContext, Ctx()]
    ) -> None:
        self.events.append({"topic": ctx.get_topic(), "data": data})

    @EventPattern("lamp/+")
    def lamp(self, data: Any, ctx: MqttContext) -> None:
        self.events.append({"topic": ctx.get_topic(), "data": data})

    @EventPattern("alerts", {"qos": 2})
    def alerts(self, data: Any, ctx: MqttContext) -> None:
        self.events.append({"topic": ctx.get_topic(), "data": data, "qos": ctx.get_packet().qos})


@Module(controllers=[MirrorController])
class MirrorModule: ...


async def start_mirror(url: str, module: type = MirrorModule, **options: Any) -> NestMicroservice:
    """Start ``module`` (default: the twin) on ``url`` with ``MqttOptions(url=url, **options)``."""
    app = await create_microservice(
        module, transport=Transport.MQTT, options=MqttOptions(url=url, **options)
    )
    await app.listen()
    return app


@Controller()
class JsonEdgesController:
    """One handler returning NaN, ±Infinity, a lone surrogate and an astral character."""

    @MessagePattern("json_edges")
    def json_edges(self, _data: Any) -> list[Any]:
        return [math.nan, math.inf, -math.inf, 1.5, "\ud800", "\U0001f600"]


@Module(controllers=[JsonEdgesController])
class JsonEdgesModule: ...
