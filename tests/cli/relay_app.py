"""A service whose handler calls another handler through an MQTT client registered without a
URL: ``nestpy run --url`` must point that client at the same broker as the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from nestpy import Controller, Inject, Module
from nestpy.microservices import (
    ClientProxy,
    ClientsModule,
    EventPattern,
    MessagePattern,
    RpcException,
    Transport,
)
from nestpy_mqtt import MqttOptions


@Controller()
class RelayController:
    def __init__(
        self,
        client: Annotated[ClientProxy, Inject("RELAY")],
        fixed: Annotated[ClientProxy, Inject("FIXED")],
    ) -> None:
        self.client = client
        self.fixed = fixed
        self.notes: list[Any] = []

    @MessagePattern("cli/clients")
    def clients(self, data: Any) -> dict[str, Any]:
        """The options the two clients were built with."""
        return {
            name: {
                "url": client.options.url,  # type: ignore[attr-defined]
                "protocol_version": client.options.protocol_version,  # type: ignore[attr-defined]
                "username": client.options.username,  # type: ignore[attr-defined]
            }
            for name, client in (("RELAY", self.client), ("FIXED", self.fixed))
        }

    @MessagePattern("cli/relay")
    async def relay(self, numbers: list[int]) -> int:
        total: int = await self.client.send("cli/add", numbers, timeout=10)
        return total

    @MessagePattern("cli/add")
    def add(self, numbers: list[int]) -> int:
        return sum(numbers)

    @MessagePattern({"cmd": "cli-sum"})
    def object_sum(self, numbers: list[int]) -> int:
        return sum(numbers)

    @MessagePattern("cli/count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @MessagePattern("cli/fail")
    def fail(self, data: Any) -> None:
        raise RpcException({"code": 7, "why": "asked to"})

    @EventPattern("cli/noted")
    def noted(self, data: Any) -> None:
        self.notes.append(data)

    @MessagePattern("cli/notes")
    def read_notes(self, data: Any) -> list[Any]:
        return self.notes


@Module(
    imports=[
        ClientsModule.register(name="RELAY", transport=Transport.MQTT),
        # Its own URL: kept. Built when the module is imported, after `nestpy run` exported
        # its flags, so the protocol version still follows --protocol-version.
        ClientsModule.register(
            name="FIXED", transport=Transport.MQTT, options=MqttOptions(url="mqtt://fixed:1883")
        ),
    ],
    controllers=[RelayController],
)
class AppModule: ...
