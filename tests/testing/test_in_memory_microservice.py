"""TestingModule.create_microservice, use_in_memory_transport and client overrides."""

from __future__ import annotations

import asyncio

import pytest

from nestpy import Module, Provider
from nestpy.microservices import (
    ClientsModule,
    NestMicroservice,
    RequestTimeoutError,
    RpcException,
    Transport,
)
from nestpy.testing import InMemoryBroker, InMemoryClient, InMemoryOptions, Test
from tests.testing.apps import (
    Calculator,
    InMemoryAppModule,
    MathController,
    MathFacade,
    MqttAppModule,
)


async def test_the_issue_example_runs_on_the_in_memory_transport() -> None:
    mod = await Test.create_testing_module(imports=[InMemoryAppModule]).compile()
    app = await mod.create_microservice(transport=Transport.IN_MEMORY)
    try:
        assert isinstance(app, NestMicroservice)
        assert await mod.get("MATH_SERVICE").send("sum", [1, 2]) == 3
        assert await mod.get(MathFacade).total([4, 5]) == 9
    finally:
        await app.close()


async def test_a_module_written_for_mqtt_runs_in_memory_with_use_in_memory_transport() -> None:
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule]).use_in_memory_transport().compile()
    )
    app = await mod.create_microservice()
    try:
        client = mod.get("MATH_SERVICE")
        assert isinstance(client, InMemoryClient)
        assert await client.send("sum", [1, 2, 3]) == 6
        assert [v async for v in client.send("count", 3)] == [0, 1, 2]
        with pytest.raises(RpcException) as info:
            await client.send("sum", [])
        assert info.value.get_error() == {"status": "error", "message": "Nothing to add"}
        await client.emit("sensors/kitchen/temperature", 21.5)
        for _ in range(10):
            await asyncio.sleep(0)
        assert mod.get(Calculator).events == [21.5]
        # a broker private to this module: the default broker saw none of it
        assert mod.in_memory_broker is not InMemoryBroker.default()
        topics = [topic for topic, _ in mod.in_memory_broker.published]
        assert "sum" in topics
        assert "sum/reply" in topics
    finally:
        await app.close()


async def test_use_in_memory_transport_takes_a_given_broker() -> None:
    broker = InMemoryBroker()
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule])
        .use_in_memory_transport(broker)
        .compile()
    )
    async with await mod.create_microservice():
        outsider = InMemoryClient(InMemoryOptions(broker=broker))
        assert await outsider.send("sum", [2, 2]) == 4
        await outsider.close()
    assert mod.in_memory_broker is broker


async def test_use_in_memory_transport_swaps_register_async_clients_without_their_factory() -> None:
    def factory(options: object) -> object:
        raise AssertionError("the swapped client's factory must not run")

    @Module(
        imports=[
            ClientsModule.register_async(
                name="MATH_SERVICE", use_factory=factory, inject=["MISSING_OPTIONS"]
            )
        ],
        controllers=[MathController],
        providers=[Calculator],
    )
    class AsyncClientModule: ...

    mod = await (
        Test.create_testing_module(imports=[AsyncClientModule]).use_in_memory_transport().compile()
    )
    async with await mod.create_microservice():
        assert await mod.get("MATH_SERVICE").send("sum", [1, 1]) == 2


async def test_modules_with_their_own_in_memory_broker_do_not_hear_each_other() -> None:
    served = await (
        Test.create_testing_module(imports=[MqttAppModule]).use_in_memory_transport().compile()
    )
    other = await (
        Test.create_testing_module(imports=[MqttAppModule]).use_in_memory_transport().compile()
    )
    async with await served.create_microservice():
        with pytest.raises(RequestTimeoutError):
            await other.get("MATH_SERVICE").send("sum", [1], timeout=0.2)
    await other.close()


async def test_override_provider_replaces_a_client_with_a_fake() -> None:
    class FakeMathClient:
        def __init__(self) -> None:
            self.sent: list[tuple[str, object]] = []

        async def send(self, pattern: str, data: object) -> int:
            self.sent.append((pattern, data))
            return 42

    fake = FakeMathClient()
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule])
        .override_provider("MATH_SERVICE")
        .use_value(fake)
        .compile()
    )
    try:
        assert mod.get("MATH_SERVICE") is fake
        assert await mod.get(MathFacade).total([1, 2]) == 42
        assert fake.sent == [("sum", [1, 2])]
    finally:
        await mod.close()


async def test_override_provider_with_an_in_memory_client_factory() -> None:
    # The alternative to use_in_memory_transport() for one client: the default broker is the
    # one create_microservice() uses when the module has no broker of its own.
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule])
        .override_provider("MATH_SERVICE")
        .use_factory(factory=lambda: InMemoryClient())
        .compile()
    )
    async with await mod.create_microservice():
        assert await mod.get(MathFacade).total([3, 4]) == 7


async def test_an_explicit_client_override_wins_over_use_in_memory_transport() -> None:
    fake = object()
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule])
        .use_in_memory_transport()
        .override_provider("MATH_SERVICE")
        .use_value(fake)
        .compile()
    )
    assert mod.get("MATH_SERVICE") is fake
    await mod.close()


async def test_listen_false_subscribes_only_on_listen() -> None:
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule]).use_in_memory_transport().compile()
    )
    app = await mod.create_microservice(listen=False)
    client = mod.get("MATH_SERVICE")
    with pytest.raises(RequestTimeoutError):
        await client.send("sum", [1], timeout=0.1)
    await app.listen()
    assert await client.send("sum", [1]) == 1
    await app.close()


async def test_closing_the_microservice_closes_the_module_and_its_clients() -> None:
    closed: list[str] = []

    class Probe:
        def on_application_shutdown(self, signal: str | None = None) -> None:
            closed.append("probe")

    mod = await (
        Test.create_testing_module(
            imports=[MqttAppModule], providers=[Provider(Probe, use_value=Probe())]
        )
        .use_in_memory_transport()
        .compile()
    )
    app = await mod.create_microservice()
    client = mod.get("MATH_SERVICE")
    assert await client.send("sum", [1]) == 1
    await app.close()
    assert closed == ["probe"]


async def test_a_closed_in_memory_microservice_no_longer_answers() -> None:
    mod = await (
        Test.create_testing_module(imports=[MqttAppModule]).use_in_memory_transport().compile()
    )
    app = await mod.create_microservice()
    client = InMemoryClient(InMemoryOptions(broker=mod.in_memory_broker))
    assert await client.send("sum", [1]) == 1
    await app.close()
    with pytest.raises(RequestTimeoutError):
        await client.send("sum", [1], timeout=0.1)
