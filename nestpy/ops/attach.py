"""The operations side of one microservice: probes, metrics and the HTTP server on its loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nestpy.microservices.workers import worker_index
from nestpy.ops.discovery import find_indicators
from nestpy.ops.health import HealthIndicator
from nestpy.ops.readiness import TransportIndicator

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from nestpy.microservices.microservice import NestMicroservice
    from nestpy.ops.metrics import NestpyMetrics
    from nestpy.ops.serve import OpsServer

__all__ = ["Operations"]


class Operations:
    """What ``create_microservice(health_port=...)`` adds: ``/livez``, ``/readyz``, ``/metrics``
    and ``/asyncapi.json`` on ``host:port`` (port 0: any free port, see ``port`` once started)."""

    def __init__(
        self,
        port: int,
        host: str = "0.0.0.0",
        *,
        module: Any = None,
        metrics: bool = True,
        registry: CollectorRegistry | None = None,
    ) -> None:
        # Worker processes (create_microservice(workers=N)) serve on port + their index.
        self.port = port + worker_index() if port else port
        self.host = host
        self.module = module
        self.metrics_enabled = metrics
        self.registry = registry
        self.transport: TransportIndicator | None = None
        self._server: OpsServer | None = None
        self._metrics: NestpyMetrics | None = None
        self._app: NestMicroservice | None = None

    def indicators(self) -> list[HealthIndicator]:
        """The transport's readiness, then every ``HealthIndicator`` provider of the app."""
        found: list[HealthIndicator] = [self.transport] if self.transport else []
        if self._app is not None:
            found += find_indicators(self._app.context)
        return found

    def _asyncapi(self) -> dict[str, Any]:
        from nestpy.asyncapi import asyncapi_document

        app = self._app
        assert app is not None
        return asyncapi_document(
            app.context.controllers,
            title=_title(self.module),
            options=getattr(app.server, "options", None),
        )

    async def start(self, app: NestMicroservice) -> None:
        """Bind the port (``HealthPortInUseError`` if taken) and serve, before ``listen()``."""
        from nestpy.ops.http import create_ops_app
        from nestpy.ops.metrics import metrics_for
        from nestpy.ops.serve import OpsServer

        self._app = app
        self.transport = TransportIndicator(app.server)
        asgi = create_ops_app(
            self.indicators,
            registry=self.registry,
            metrics=self.metrics_enabled,
            asyncapi=self._asyncapi,
        )
        server = OpsServer(asgi, self.host, self.port)
        await server.start()  # first: a taken port leaves nothing instrumented behind
        self._server = server
        self.port = server.port
        if self.metrics_enabled:
            metrics = metrics_for(self.registry)
            metrics.bind_server(app.server)
            metrics.acquire()
            self._metrics = metrics

    def listening(self) -> None:
        """The server's ``listen()`` returned: every route is subscribed."""
        if self.transport is not None:
            self.transport.listening = True

    async def draining(self) -> None:
        """The microservice is closing: ``/readyz`` answers 503 from now on."""
        if self.transport is not None:
            self.transport.draining = True

    async def stop(self) -> None:
        """Stop the HTTP server (after the microservice has drained)."""
        if self._metrics is not None:
            self._metrics.release()
            self._metrics = None
        if self._server is not None:
            await self._server.stop()
            self._server = None


def _title(module: Any) -> str:
    target = getattr(module, "module", module)  # a DynamicModule names its class
    return getattr(target, "__name__", "nestpy service")
