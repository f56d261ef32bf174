"""The math service's handlers: one per feature of nestpy's microservices and MQTT transport."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from nestpy import Controller
from nestpy.microservices import Ctx, EventPattern, MessagePattern, Payload, RpcException
from nestpy_mqtt import MqttContext
from samples.math_service.providers import Calculator, RequestInfo, UserDirectory
from samples.math_service.schemas import Division, Reading, User

logger = logging.getLogger("samples.math_service")

EMOJI = {":cat:": "🐱", ":dog:": "🐶", ":rocket:": "🚀"}


@Controller()
class MathController:
    """Request/response, streams, wildcards, events and errors."""

    def __init__(self, calculator: Calculator, users: UserDirectory) -> None:
        self.calculator = calculator
        self.users = users

    @MessagePattern("ping")
    def ping(self, data: Any) -> dict[str, Any]:
        """Lets a client wait until the service is up; says which process answered."""
        return {"pong": data, "pid": os.getpid()}

    @MessagePattern("sum")
    def sum(self, numbers: list[int]) -> int:
        """A plain ``def`` handler; ``list[int]`` is validated, an empty list is refused."""
        if not numbers:
            msg = "Nothing to add"
            raise RpcException(msg)
        return self.calculator.add(numbers)

    @MessagePattern("divide")
    async def divide(self, division: Division) -> float:
        """An ``async def`` handler with a pydantic payload; errors as an ``RpcException(dict)``."""
        if division.divisor == 0:
            raise RpcException({"code": "DIVISION_BY_ZERO", "message": "Cannot divide by zero"})
        return division.dividend / division.divisor

    @MessagePattern("count_up")
    async def count_up(self, n: int) -> AsyncIterator[int]:
        """An async generator: the client receives every value, then the end of the stream."""
        for i in range(n):
            await asyncio.sleep(0.01)
            yield i

    @MessagePattern("sensors/+/temperature/+", qos=1)
    async def temperature(self, reading: Reading, ctx: MqttContext) -> dict[str, Any]:
        """A wildcard pattern subscribed with QoS 1; the topic says which sensor and unit."""
        _, sensor, _, unit = ctx.get_topic().split("/")
        packet = ctx.get_packet()
        return {
            "sensor": sensor,
            "unit": unit,
            "celsius": self.calculator.to_celsius(reading.value, unit),
            "qos": packet.qos,
            "user_properties": packet.properties.user_properties,
        }

    @MessagePattern("replace-emoji")
    def replace_emoji(
        self, text: Annotated[str, Payload()], ctx: Annotated[MqttContext, Ctx()]
    ) -> dict[str, Any]:
        """The record-builder example of Nest's MQTT guide: reads the ``x-version`` property."""
        version = ctx.get_packet().properties.user_properties.get("x-version")
        return {"text": EMOJI.get(text, text), "x_version": version}

    @EventPattern("user_created")
    async def user_created(self, user: User, ctx: MqttContext) -> None:
        """An event: no reply; the user is stored, ``users`` lists them."""
        self.users.add(user)
        logger.info("user_created on %s: %s", ctx.get_topic(), user.name)

    @MessagePattern("users")
    def list_users(self, data: Any) -> list[str]:
        """The users announced so far by ``user_created`` events."""
        return self.users.names()


@Controller()
class RequestController:
    """Depends on a request-scoped provider, so it is created anew for every message."""

    def __init__(self, info: RequestInfo) -> None:
        self.info = info

    @MessagePattern("whoami")
    def whoami(self, data: Any) -> dict[str, Any]:
        """Describes the message as the request-scoped provider saw it."""
        return self.info.describe()
