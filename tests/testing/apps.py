"""Modules shared by the testing-toolkit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from nestpy import Controller, Inject, Injectable, Module
from nestpy.microservices import (
    ClientProxy,
    ClientsModule,
    EventPattern,
    MessagePattern,
    RpcException,
    Transport,
)


@Injectable()
class Calculator:
    def __init__(self) -> None:
        self.events: list[object] = []

    def add(self, numbers: list[int]) -> int:
        return sum(numbers)


@Controller()
class MathController:
    def __init__(self, calculator: Calculator) -> None:
        self.calculator = calculator

    @MessagePattern("sum")
    def sum(self, numbers: list[int]) -> int:
        if not numbers:
            raise RpcException("Nothing to add")
        return self.calculator.add(numbers)

    @MessagePattern("count", qos=1)
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @EventPattern("sensors/+/temperature")
    def reading(self, value: float) -> None:
        self.calculator.events.append(value)


@Injectable()
class MathFacade:
    """A provider that uses the client: what override_provider must be able to reach."""

    def __init__(self, client: Annotated[ClientProxy, Inject("MATH_SERVICE")]) -> None:
        self.client = client

    async def total(self, numbers: list[int]) -> int:
        result: int = await self.client.send("sum", numbers)
        return result


@Module(
    imports=[ClientsModule.register(name="MATH_SERVICE", transport=Transport.IN_MEMORY)],
    controllers=[MathController],
    providers=[Calculator, MathFacade],
)
class InMemoryAppModule: ...


@Module(
    imports=[ClientsModule.register(name="MATH_SERVICE", transport=Transport.MQTT)],
    controllers=[MathController],
    providers=[Calculator, MathFacade],
)
class MqttAppModule: ...
