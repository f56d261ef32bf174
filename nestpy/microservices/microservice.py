"""``create_microservice``: an application context plus a transport server (Nest's
``NestFactory.createMicroservice``)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal as signals
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from nestpy.common.shutdown_signal import DEFAULT_SHUTDOWN_SIGNALS, signal_numbers
from nestpy.core.factory import NestFactory
from nestpy.microservices.listeners import bind_handlers
from nestpy.microservices.observable import observable
from nestpy.microservices.server import Server
from nestpy.microservices.signal_listener import SignalListener
from nestpy.microservices.transports import Transport, implementation
from nestpy.microservices.workers import WorkerPool

logger = logging.getLogger("nestpy.microservices")

FIRST = asyncio.FIRST_COMPLETED


class NestMicroservice:
    """A running microservice: ``listen()``, ``run()``, ``close()``, plus ``get``/``resolve``.

    ``status``, ``on`` and ``unwrap`` are the server's (for MQTT: the connection status stream,
    paho event listeners and the paho client).
    """

    def __init__(
        self,
        context: Any,
        server: Server,
        workers: WorkerPool | None = None,
        operations: Any = None,
        *,
        shutdown_signals: Iterable[str | signals.Signals] | None = None,
        freeze_gc: bool = False,
    ) -> None:
        self.context = context
        self.server = server
        self.workers = workers
        self.shutdown_signals = (
            None if shutdown_signals is None else tuple(signal_numbers(shutdown_signals))
        )
        """The signals ``run()`` handles; None for ``DEFAULT_SHUTDOWN_SIGNALS``."""
        self.operations = operations
        """``nestpy.ops.Operations`` when created with ``health_port=``: probes and metrics."""
        self.freeze_gc = freeze_gc
        """Whether ``run()`` calls ``gc.freeze()`` once the service has started."""
        self._listening = False

    async def listen(self) -> None:
        """Register the handlers and start the server; returns once it is subscribed."""
        if self._listening:
            return
        self._listening = True
        handlers = bind_handlers(self.context, self.server)
        if self.operations is not None:  # probes answer (503) while the server connects
            await self.operations.start(self)
            self.context.add_dispose_callback(self.operations.draining)
        self.context.add_dispose_callback(self.server.close)
        if self.operations is not None:
            self.context.add_dispose_callback(self.operations.stop)
        await self.server.listen()
        if self.operations is not None:
            self.operations.listening()
        logger.info(
            "Nest microservice successfully started (%d handler(s), %s)",
            len(handlers),
            type(self.server).__name__,
        )

    async def run(self, shutdown_signals: Iterable[str | signals.Signals] | None = None) -> None:
        """Listen, serve until a shutdown signal or ``close()``, and shut down cleanly.

        ``shutdown_signals`` (default: the ones given to ``create_microservice``, else
        ``DEFAULT_SHUTDOWN_SIGNALS``: SIGTERM, SIGINT, SIGHUP; ``ShutdownSignal`` for all of
        Nest's) are handled from the start, while the first connection is still being tried
        too. On the first one the server stops taking messages, lets in-flight handlers reply,
        and the shutdown hooks run with the signal's name; later signals are logged and change
        nothing. ``close()`` from anywhere else makes ``run()`` return too. Either way the
        signal handlers are removed before ``run()`` returns. With ``workers=N`` the other N-1
        processes are started once this one listens, and stopped with it. With ``freeze_gc``
        everything allocated until the service listens is moved out of the garbage
        collector's way (``gc.freeze()``), once, after start-up.
        """
        chosen = self.shutdown_signals if shutdown_signals is None else shutdown_signals
        listener = SignalListener(
            DEFAULT_SHUTDOWN_SIGNALS if chosen is None else chosen,
            keep_ignored=chosen is None,
            closing=lambda: self.context.is_closing,
        )
        closed = asyncio.ensure_future(self.context.wait_closed())
        starting: asyncio.Future[None] | None = None
        try:
            listener.install()
            if not self.context.is_closing:
                starting = asyncio.ensure_future(self._start())
                await asyncio.wait({starting, listener.received, closed}, return_when=FIRST)
                if starting.done() and not listener.received.done() and not closed.done():
                    if starting.exception() is None:
                        if self.freeze_gc:
                            # Everything built so far lives as long as the service: keep it
                            # out of the collector's full passes (ms-long pauses when busy).
                            gc.freeze()
                    elif not self.context.is_closing:
                        starting.result()  # could not start (e.g. connect_timeout): raise
                    await asyncio.wait({listener.received, closed}, return_when=FIRST)
            name = listener.received.result() if listener.received.done() else None
            if name is not None:
                logger.info("Received %s, shutting down", name)
            if starting is not None and not starting.done():
                starting.cancel()  # still connecting: stop retrying
                await asyncio.wait({starting})
            await self._shutdown(name)
        finally:
            closed.cancel()
            listener.remove()
            if starting is not None:
                if not starting.done():  # run() itself was cancelled
                    starting.cancel()
                elif not starting.cancelled():
                    starting.exception()  # retrieved: a close() during listen() is no error
            if self.workers is not None:
                await self.workers.stop()

    async def _start(self) -> None:
        await self.listen()
        if self.workers is not None:
            await self.workers.start()

    async def _shutdown(self, signal: str | None) -> None:
        # The other workers drain at the same time as this one, not after it.
        if self.workers is None:
            await self.close(signal)
        else:
            await asyncio.gather(self.close(signal), self.workers.stop(signal or "SIGTERM"))

    async def close(self, signal: str | None = None) -> None:
        """Close the server, then run the shutdown hooks; idempotent."""
        await self.context.close(signal)

    def use_global_guards(self, *guards: Any) -> NestMicroservice:
        """Guards for every handler; call before ``listen()``."""
        self.context.use_global_guards(*guards)
        return self

    def use_global_interceptors(self, *interceptors: Any) -> NestMicroservice:
        """Interceptors for every handler; call before ``listen()``."""
        self.context.use_global_interceptors(*interceptors)
        return self

    def use_global_filters(self, *filters: Any) -> NestMicroservice:
        """Exception filters for every handler; call before ``listen()``."""
        self.context.use_global_filters(*filters)
        return self

    def use_global_pipes(self, *pipes: Any) -> NestMicroservice:
        """Pipes for every handler parameter; call before ``listen()``."""
        self.context.use_global_pipes(*pipes)
        return self

    def get(self, token: Any, **kwargs: Any) -> Any:
        """A static provider of the application (see ``NestApplicationContext.get``)."""
        return self.context.get(token, **kwargs)

    async def resolve(self, token: Any, context_id: Any = None) -> Any:
        """A scoped provider of the application (see ``NestApplicationContext.resolve``)."""
        return await self.context.resolve(token, context_id)

    @property
    def status(self) -> Any:
        """The server's status stream (servers that are an ``ObservableTransport``)."""
        return observable(self.server, "status").status

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Attach a listener to a server event (servers that are an ``ObservableTransport``)."""
        observable(self.server, "on()").on(event, callback)

    def unwrap(self) -> Any:
        """The transport's underlying client object (e.g. paho's client for MQTT)."""
        return observable(self.server, "unwrap()").unwrap()

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
    transport: Transport | None,
    options: Any,
    strategy: Server | None,
    *,
    workers: int = 1,
    **server_options: Any,
) -> Server:
    """The server for ``transport``, built by the transport to run in ``workers`` processes
    (or the given ``strategy`` instance, which must run in one)."""
    if strategy is not None:
        if workers != 1:
            msg = (
                f"create_microservice(strategy=..., workers={workers}): a ready server cannot "
                f"be changed to share its messages between processes; pass transport= and "
                f"options= instead, or build the server for it (e.g. ServerMqtt("
                f"with_shared_group(options, {workers})), from nestpy_mqtt.workers) and start "
                f"the processes with WorkerPool."
            )
            raise ValueError(msg)
        return strategy
    if transport is None:
        msg = "create_microservice needs a transport (e.g. Transport.MQTT) or a strategy=Server."
        raise ValueError(msg)
    return implementation(transport).create_server(options, workers=workers, **server_options)


async def create_microservice(
    module: Any,
    *,
    transport: Transport | None = Transport.MQTT,
    options: Any = None,
    strategy: Server | None = None,
    workers: int = 1,
    shutdown_signals: Iterable[str | signals.Signals] | None = None,
    health_port: int | None = None,
    health_host: str = "0.0.0.0",
    freeze_gc: bool = False,
    **server_options: Any,
) -> NestMicroservice:
    """Bootstrap ``module`` and attach a server; call ``listen()`` or ``run()`` to start it.

    ``options`` are the transport's options (``MqttOptions`` for ``Transport.MQTT``);
    ``server_options`` go to the server (``max_concurrency=``, ``max_backlog=``,
    ``drain_timeout=``, ``handler_timeout=``, ``max_payload_bytes=``);
    ``strategy`` takes a ready server instance, for custom transports.
    ``workers=N`` (MQTT) runs the service in N processes sharing its subscriptions through a
    shared subscription group (``nestpy`` unless ``options.shared_group`` names one; the
    transport builds its server with it): ``run()`` in the process you started starts the N-1
    others by running its command line again.
    ``shutdown_signals`` are the signals ``run()`` shuts down on (names such as ``"SIGTERM"``,
    ``ShutdownSignal`` members, or ``ShutdownSignal`` itself for all of Nest's); by default
    ``DEFAULT_SHUTDOWN_SIGNALS`` (SIGTERM, SIGINT, SIGHUP), except the ones the process ignores.
    ``health_port`` serves ``/livez``, ``/readyz``, ``/metrics`` and ``/asyncapi.json`` on
    ``health_host`` from ``listen()`` on (needs the ``ops`` extra; see ``nestpy.ops``).
    ``freeze_gc=True`` makes ``run()`` call ``gc.freeze()`` once the service has started, so
    that the objects built at start-up no longer lengthen the collector's full passes (an
    opt-in: it is process-wide, and objects frozen are never collected).
    """
    names = None if shutdown_signals is None else tuple(signal_numbers(shutdown_signals))
    server = make_server(transport, options, strategy, workers=workers, **server_options)
    context = await NestFactory.create_application_context(module)
    operations = None
    if health_port is not None:
        from nestpy.ops.attach import Operations

        operations = Operations(health_port, health_host, module=module)
    pool = WorkerPool(workers) if workers > 1 else None
    return NestMicroservice(
        context, server, pool, operations, shutdown_signals=names, freeze_gc=freeze_gc
    )
