"""Clients as providers on Mosquitto: ``ClientsModule.register`` (one, a list, global),
``register_async`` (``use_factory``/``inject``/``imports``) and ``ClientProxyFactory.create``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from transport_support import FAST, Harness, make_module

from nestpy import Controller, Inject, Injectable, Module, NestFactory
from nestpy.microservices import (
    AsyncClientOptions,
    ClientOptions,
    ClientProxy,
    ClientProxyFactory,
    ClientsModule,
    MessagePattern,
    Transport,
)
from nestpy_mqtt import ClientMqtt, MqttContext, MqttOptions, MqttStatus
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


@Controller()
class MathController:
    @MessagePattern("sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("whoami")
    def whoami(self, data: Any, ctx: MqttContext) -> dict[str, str]:
        return ctx.get_packet().properties.user_properties


@Controller()
class GatewayController:
    """The issue's shape: a service's controller calls another service through a client."""

    def __init__(self, math: Annotated[ClientProxy, Inject("MATH_SERVICE")]) -> None:
        self.math = math

    @MessagePattern("gateway/sum")
    async def sum(self, data: list[int]) -> int:
        result: int = await self.math.send("sum", data, timeout=5)
        return result


@Injectable()
class Settings:
    """Configuration the client options are built from (as a ConfigModule would provide)."""

    url = ""


@Module(providers=[Settings], exports=[Settings])
class SettingsModule: ...


@pytest.fixture
async def harness(mqtt_broker: MosquittoBroker, mqtt_version: int) -> AsyncIterator[Harness]:
    peers = Harness(mqtt_broker.url, mqtt_version)
    await peers.service(MathController, protocol_version=5)  # sees MQTT 5 user properties
    try:
        yield peers
    finally:
        await peers.close()


async def test_register_one_client_injected_into_a_controller(harness: Harness) -> None:
    clients = ClientsModule.register(
        name="MATH_SERVICE", transport=Transport.MQTT, options=harness.options()
    )
    gateway = await harness.app(make_module([GatewayController], imports=[clients]))
    math = gateway.get("MATH_SERVICE")
    assert isinstance(math, ClientMqtt)
    assert await harness.client().send("gateway/sum", [1, 2, 3], timeout=5) == 6
    await gateway.close()
    assert math.status.current is MqttStatus.CLOSED  # closed with the application


async def test_register_a_list_of_clients_and_global(harness: Harness) -> None:
    clients = ClientsModule.register(
        [
            ClientOptions(
                "A", options=harness.options(protocol_version=5, user_properties={"c": "a"})
            ),
            ClientOptions(
                "B", Transport.MQTT, harness.options(protocol_version=5, user_properties={"c": "b"})
            ),
        ],
        is_global=True,
    )

    @Injectable()
    class UsesBoth:
        def __init__(
            self,
            a: Annotated[ClientProxy, Inject("A")],
            b: Annotated[ClientProxy, Inject("B")],
        ) -> None:
            self.a, self.b = a, b

    feature = Module(providers=[UsesBoth], exports=[UsesBoth])(type("Feature", (), {}))
    context = await NestFactory.create_application_context(make_module(imports=[clients, feature]))
    try:
        both = context.get(UsesBoth)
        assert both.a is not both.b
        assert await both.a.send("whoami", 1, timeout=5) == {"c": "a"}
        assert await both.b.send("whoami", 1, timeout=5) == {"c": "b"}
    finally:
        await context.close()
    assert both.a.status.current is both.b.status.current is MqttStatus.CLOSED


async def test_register_async_with_factory_inject_and_imports(harness: Harness) -> None:
    Settings.url = harness.url

    async def async_factory(settings: Settings) -> MqttOptions:
        return MqttOptions(
            url=settings.url, user_properties={"from": "async"}, protocol_version=5, **FAST
        )

    clients = ClientsModule.register_async(
        [
            AsyncClientOptions(
                "SYNC",
                use_factory=lambda settings: MqttOptions(url=settings.url, **FAST),
                inject=[Settings],
                imports=[SettingsModule],
            ),
            AsyncClientOptions(
                "ASYNC", use_factory=async_factory, inject=[Settings], imports=[SettingsModule]
            ),
        ]
    )
    single = ClientsModule.register_async(
        name="SINGLE",
        use_factory=lambda settings: ClientOptions(
            "ignored", options=MqttOptions(url=settings.url, **FAST)
        ),
        inject=[Settings],
        imports=[SettingsModule],
    )
    context = await NestFactory.create_application_context(make_module(imports=[clients, single]))
    try:
        assert await context.get("SYNC").send("sum", [2, 2], timeout=5) == 4
        assert await context.get("ASYNC").send("whoami", 1, timeout=5) == {"from": "async"}
        assert await context.get("SINGLE").send("sum", [3], timeout=5) == 3
    finally:
        await context.close()


async def test_client_proxy_factory_create(harness: Harness) -> None:
    client = ClientProxyFactory.create(transport=Transport.MQTT, options=harness.options())
    assert isinstance(client, ClientMqtt)
    try:
        assert await client.send("sum", [4, 5], timeout=5) == 9
    finally:
        await client.close()
