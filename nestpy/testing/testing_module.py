"""``TestingModule``: the application context a testing module compiles to."""

from __future__ import annotations

from typing import Any

from nestpy.core.application_context import NestApplicationContext
from nestpy.core.injector import Injector
from nestpy.microservices.microservice import NestMicroservice, make_server
from nestpy.microservices.server import Server
from nestpy.microservices.transports import Transport
from nestpy.testing.in_memory import InMemoryBroker, InMemoryOptions


class TestingModule(NestApplicationContext):
    """A compiled testing module: ``get``, ``resolve``, ``close`` like any application context.

    Init hooks have run when ``compile()`` returns; ``close()`` runs the shutdown hooks.
    ``create_microservice()`` serves the module's controllers, in memory by default.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, injector: Injector) -> None:
        super().__init__(injector)
        self._in_memory_broker: InMemoryBroker | None = None

    @property
    def in_memory_broker(self) -> InMemoryBroker:
        """The broker of the in-memory transport: the one given to
        ``use_in_memory_transport()``, else the process-wide ``InMemoryBroker.default()``
        (the one ``ClientsModule`` clients of ``Transport.IN_MEMORY`` use without options)."""
        return self._in_memory_broker or InMemoryBroker.default()

    async def create_microservice(
        self,
        transport: Transport | None = Transport.IN_MEMORY,
        options: Any = None,
        *,
        strategy: Server | None = None,
        listen: bool = True,
        **server_options: Any,
    ) -> NestMicroservice:
        """Serve this module's controllers; by default in memory and already listening.

        With ``Transport.IN_MEMORY`` and no ``options`` the server uses ``in_memory_broker``,
        where the module's in-memory clients are, so this works with no broker::

            module = await Test.create_testing_module(imports=[AppModule]).compile()
            app = await module.create_microservice(transport=Transport.IN_MEMORY)
            assert await module.get("MATH_SERVICE").send("sum", [1, 2]) == 3

        Any other transport takes its own options (``Transport.MQTT`` with
        ``MqttOptions(url=broker.url)`` for an integration test). ``listen=False`` returns
        the microservice before it subscribes (call ``await app.listen()``). Closing the
        microservice closes this module, and closing this module closes the server.
        """
        if transport == Transport.IN_MEMORY and options is None and strategy is None:
            options = InMemoryOptions(broker=self.in_memory_broker)
        server = make_server(transport, options, strategy, **server_options)
        app = NestMicroservice(self, server)
        if listen:
            await app.listen()
        return app
