"""nestpy's pytest plugin, loaded automatically through the ``pytest11`` entry point.

Fixtures:

- ``create_testing_module``: ``Test.create_testing_module`` whose compiled modules are
  closed after the test.
- ``in_memory_broker``: a fresh ``InMemoryBroker`` for this test.
- ``in_memory_microservice``: ``app, client = await in_memory_microservice(AppModule)``,
  a listening in-memory microservice and a client on the same broker, closed after the test.
- ``mosquitto_broker``: a private Mosquitto on a free loopback port for integration tests;
  the test is skipped, with the reason, when ``mosquitto`` or ``nestpy_mqtt`` is missing.

The async fixtures need pytest-asyncio. This module imports neither paho nor ``nestpy_mqtt``
until ``mosquitto_broker`` is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import pytest

from nestpy.common.dynamic_module import DynamicModule
from nestpy.microservices.microservice import NestMicroservice
from nestpy.testing.in_memory import InMemoryBroker, InMemoryClient, InMemoryOptions
from nestpy.testing.test import Test, TestingModuleBuilder
from nestpy.testing.testing_module import TestingModule

if TYPE_CHECKING:
    from nestpy_mqtt.testing import MosquittoBroker

F = TypeVar("F", bound=Callable[..., Any])
_fixture: Any
try:
    from pytest_asyncio import fixture as _fixture
except ImportError:  # pragma: no cover - the async fixtures then fail with pytest's message
    _fixture = pytest.fixture


def async_fixture(func: F) -> F:
    """``pytest_asyncio.fixture`` (so the fixtures work in its strict mode too)."""
    decorated: F = _fixture(func)
    return decorated


class TestingModuleFactory:
    """The ``create_testing_module`` fixture: builders whose modules close after the test."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.modules: list[TestingModule] = []

    def __call__(
        self,
        *,
        imports: Sequence[Any] = (),
        providers: Sequence[Any] = (),
        controllers: Sequence[Any] = (),
        exports: Sequence[Any] = (),
    ) -> TestingModuleBuilder:
        """``Test.create_testing_module(...)``; finish with ``await ....compile()``."""
        builder = Test.create_testing_module(
            imports=imports, providers=providers, controllers=controllers, exports=exports
        )
        builder._on_compile.append(self.modules.append)
        return builder

    async def close(self) -> None:
        """Close every module compiled from this factory, the last one first."""
        while self.modules:
            await self.modules.pop().close()


class MicroserviceAndClient(NamedTuple):
    """What ``in_memory_microservice(...)`` returns: unpack it as ``app, client``."""

    app: NestMicroservice
    client: InMemoryClient


InMemoryMicroserviceFactory = Callable[
    [type[Any] | DynamicModule | TestingModuleBuilder], Awaitable[MicroserviceAndClient]
]


@pytest.fixture
def in_memory_broker() -> InMemoryBroker:
    """A fresh in-memory broker; ``in_memory_broker.published`` lists what was published."""
    return InMemoryBroker()


@async_fixture
async def create_testing_module() -> AsyncIterator[TestingModuleFactory]:
    """``await create_testing_module(imports=[AppModule]).override_provider(X).use_value(y)
    .compile()``: like ``Test.create_testing_module``, closed after the test."""
    factory = TestingModuleFactory()
    try:
        yield factory
    finally:
        await factory.close()


@async_fixture
async def in_memory_microservice(
    in_memory_broker: InMemoryBroker, create_testing_module: TestingModuleFactory
) -> AsyncIterator[InMemoryMicroserviceFactory]:
    """``app, client = await in_memory_microservice(AppModule)``: serve a module in memory.

    Takes a module (class or ``DynamicModule``) or a ``TestingModuleBuilder`` with overrides.
    Every ``ClientsModule`` client of the module is swapped for an in-memory one, and the
    server, those clients and the returned ``client`` share ``in_memory_broker``. All of it
    is closed after the test.
    """
    clients: list[InMemoryClient] = []

    async def start(
        module: type[Any] | DynamicModule | TestingModuleBuilder,
    ) -> MicroserviceAndClient:
        if isinstance(module, TestingModuleBuilder):
            builder = module
            if create_testing_module.modules.append not in builder._on_compile:
                builder._on_compile.append(create_testing_module.modules.append)
        else:
            builder = create_testing_module(imports=[module])
        if builder._in_memory_broker is None:
            builder.use_in_memory_transport(in_memory_broker)
        testing_module = await builder.compile()
        app = await testing_module.create_microservice()
        client = InMemoryClient(InMemoryOptions(broker=testing_module.in_memory_broker))
        clients.append(client)
        return MicroserviceAndClient(app, client)

    try:
        yield start
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
def mosquitto_broker() -> Iterator[MosquittoBroker]:
    """A private Mosquitto broker on a free loopback port, for this test only.

    Connect with ``MqttOptions(url=mosquitto_broker.url)``; ``restart()``, ``stop()`` and
    ``kill()`` simulate broker outages. Skips the test when ``mosquitto`` is not installed.
    """
    try:
        from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError
    except ImportError as exc:
        pytest.skip(f"mosquitto_broker needs the MQTT transport (nestpy_mqtt): {exc}")
    try:
        broker = MosquittoBroker()
    except MosquittoNotFoundError as exc:
        pytest.skip(f"mosquitto_broker: {exc}")
    with broker:
        yield broker
