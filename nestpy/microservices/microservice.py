"""``create_microservice``: an application context plus a transport server (Nest's
``NestFactory.createMicroservice``)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal as signals
from types import TracebackType
from typing import Any

from nestpy.core.factory import NestFactory
from nestpy.microservices.listeners import bind_handlers
from nestpy.microservices.server import Server
from nestpy.microservices.transports import Transport, server_class
from nestpy.microservices.workers import WorkerPool, with_shared_group

logger = logging.getLogger("nestpy.microservices")

SHUTDOWN_SIGNALS = ("SIGTERM", "SIGINT")


class NestMicroservice:
    """A running microservice: ``listen()``, ``run()``, ``close()``, plus ``get``/``resolve``.

    ``status``, ``on`` and ``unwrap`` are the server's (for MQTT: the connection status stream,
    paho event listeners and the paho client).
    """

    def __init__(self, context: Any, server: Server, workers: WorkerPool | None = None) -> None:
        self.context = context
        self.server = server
        self.workers = workers
        self._listening = False

    async def listen(self) -> None:
        """Register the handlers and start the server; returns once it is subscribed."""
        if self._listening:
            return
        self._listening = True
        handlers = bind_handlers(self.context, self.server)
        self.context.add_dispose_callback(self.server.close)
        await self.server.listen()
        logger.info(
            "Nest microservice successfully started (%d handler(s), %s)",
            len(handlers),
            type(self.server).__name__,
        )

    async def run(self, signals_to_handle: tuple[str, ...] = SHUTDOWN_SIGNALS) -> None:
        """Listen, then serve until SIGTERM or SIGINT, and shut down cleanly.

        On the signal the server stops taking messages, lets in-flight handlers reply, and the
        shutdown hooks run with the signal's name. With ``workers=N`` the other N-1 processes
        are started once this one listens, and stopped with it.
        """
        loop = asyncio.get_running_loop()
        received: asyncio.Future[str] = loop.create_future()

        def on_signal(name: str) -> None:
            if not received.done():
                received.set_result(name)

        for name in signals_to_handle:
            loop.add_signal_handler(getattr(signals, name), on_signal, name)
        try:
            await self.listen()
            if self.workers is not None:
                await self.workers.start()
            # Everything built so far lives as long as the service: keep it out of the
            # collector's full passes, which otherwise pause a busy service for tens of ms.
            gc.freeze()
            signal_name = await received
            logger.info("Received %s, shutting down", signal_name)
            await self.close(signal_name)
        finally:
            for name in signals_to_handle:
                loop.remove_signal_handler(getattr(signals, name))
            if self.workers is not None:
                await self.workers.stop()

    async def close(self, signal: str | None = None) -> None:
        """Close the server, then run the shutdown hooks; idempotent."""
        await self.context.close(signal)

    def get(self, token: Any, **kwargs: Any) -> Any:
        """A static provider of the application (see ``NestApplicationContext.get``)."""
        return self.context.get(token, **kwargs)

    async def resolve(self, token: Any, context_id: Any = None) -> Any:
        """A scoped provider of the application (see ``NestApplicationContext.resolve``)."""
        return await self.context.resolve(token, context_id)

    @property
    def status(self) -> Any:
        """The server's status stream."""
        return self.server.status  # type: ignore[attr-defined]

    def on(self, event: str, callback: Any) -> None:
        """Attach a listener to a server event."""
        self.server.on(event, callback)  # type: ignore[attr-defined]

    def unwrap(self) -> Any:
        """The transport's underlying client object."""
        return self.server.unwrap()  # type: ignore[attr-defined]

    async def __aenter__(self) -> NestMicroservice:
        await self.listen()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def make_server(
    transport: Transport | None, options: Any, strategy: Server | None, **server_options: Any
) -> Server:
    """The server for ``transport`` (or the given ``strategy`` instance)."""
    if strategy is not None:
        return strategy
    if transport is None:
        msg = "create_microservice needs a transport (e.g. Transport.MQTT) or a strategy=Server."
        raise ValueError(msg)
    server: Server = server_class(transport)(options, **server_options)
    return server


async def create_microservice(
    module: Any,
    *,
    transport: Transport | None = Transport.MQTT,
    options: Any = None,
    strategy: Server | None = None,
    workers: int = 1,
    **server_options: Any,
) -> NestMicroservice:
    """Bootstrap ``module`` and attach a server; call ``listen()`` or ``run()`` to start it.

    ``options`` are the transport's options (``MqttOptions`` for ``Transport.MQTT``);
    ``server_options`` go to the server (``max_concurrency=``, ``max_backlog=``,
    ``drain_timeout=``, ``handler_timeout=``, ``max_payload_bytes=``);
    ``strategy`` takes a ready server instance, for custom transports.
    ``workers=N`` (MQTT) runs the service in N processes sharing its subscriptions through a
    shared subscription group (``nestpy`` unless ``options.shared_group`` names one): ``run()``
    in the process you started starts the N-1 others by running its command line again.
    """
    server = make_server(transport, options, strategy, **server_options)
    if workers > 1:
        server.options = with_shared_group(getattr(server, "options", None), workers)  # type: ignore[attr-defined]
    context = await NestFactory.create_application_context(module)
    return NestMicroservice(context, server, WorkerPool(workers) if workers > 1 else None)
