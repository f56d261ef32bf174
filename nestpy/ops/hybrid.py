"""Hybrid apps (Nest's ``connectMicroservice``): a Starlette/FastAPI app whose lifespan boots
a nestpy application context and its microservices, in one process and one event loop.

Example::

    nestpy = nestpy_lifespan(AppModule, microservices=[{"transport": Transport.MQTT,
                                                        "options": MqttOptions(url=url)}])
    app = FastAPI(lifespan=nestpy)
    app.mount("/ops", create_ops_app(nestpy.indicators))

    @app.get("/sum")
    def total(numbers: str, math: Annotated[MathService, Depends(inject(MathService))]) -> int:
        return math.sum(numbers)
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from nestpy.core.factory import NestFactory
from nestpy.microservices.microservice import NestMicroservice, make_server
from nestpy.ops.discovery import find_indicators
from nestpy.ops.health import HealthIndicator
from nestpy.ops.readiness import TransportIndicator

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["NestpyState", "inject", "nestpy_lifespan"]


class NestpyState:
    """The running nestpy side of a hybrid app: ``context`` and its ``microservices``."""

    def __init__(self, context: Any, microservices: list[NestMicroservice]) -> None:
        self.context = context
        self.microservices = microservices

    def get(self, token: Any) -> Any:
        """A static provider (``context.get``)."""
        return self.context.get(token)


class NestpyLifespan:
    """A Starlette/FastAPI ``lifespan``: boots the module, listens, closes on shutdown."""

    def __init__(
        self,
        module: Any,
        microservices: Sequence[Mapping[str, Any]] = (),
        *,
        metrics: bool = True,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.module = module
        self.metrics = metrics
        self.registry = registry
        self.microservice_options = [dict(m) for m in microservices]
        self.state: NestpyState | None = None
        self._transports: list[TransportIndicator] = []

    def indicators(self) -> list[HealthIndicator]:
        """Readiness of every microservice's transport, then the app's indicator providers
        (empty before startup); pass it to ``ops_routes`` / ``create_ops_app``."""
        if self.state is None:
            return []
        return [*self._transports, *find_indicators(self.state.context)]

    def __call__(self, app: Any) -> Any:
        return self._lifespan(app)

    @asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[dict[str, Any]]:
        context = await NestFactory.create_application_context(self.module)
        try:
            services: list[NestMicroservice] = []
            self._transports = []
            for spec in self.microservice_options:
                spec = dict(spec)
                server = make_server(
                    spec.pop("transport", None),
                    spec.pop("options", None),
                    spec.pop("strategy", None),
                    **spec,
                )
                services.append(NestMicroservice(context, server))
                self._transports.append(TransportIndicator(server))
            if self.metrics:
                from nestpy.ops.metrics import metrics_for

                metrics = metrics_for(self.registry)
                for service in services:
                    metrics.bind_server(service.server)
                metrics.acquire()
                context.add_dispose_callback(_released(metrics.release))
            self.state = state = NestpyState(context, services)
            if hasattr(app, "state"):
                app.state.nestpy = state
            for service, transport in zip(services, self._transports, strict=True):
                await service.listen()
                transport.listening = True
            yield {"nestpy": state}
        finally:
            for transport in self._transports:
                transport.draining = True
            await context.close()


def _released(release: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def callback() -> None:
        release()

    return callback


def nestpy_lifespan(
    module: Any,
    microservices: Sequence[Mapping[str, Any]] = (),
    *,
    metrics: bool = True,
    registry: CollectorRegistry | None = None,
) -> NestpyLifespan:
    """A lifespan booting ``module`` with one microservice per entry of ``microservices``
    (the keyword arguments of ``create_microservice``: ``transport``, ``options``, ...).

    ``metrics`` counts messages in ``registry`` (default: prometheus_client's), for the
    ``/metrics`` route of ``ops_routes``.
    """
    return NestpyLifespan(module, microservices, metrics=metrics, registry=registry)


def _state_of(request: Any) -> NestpyState:
    state = getattr(request.state, "nestpy", None) or getattr(request.app.state, "nestpy", None)
    if not isinstance(state, NestpyState):
        msg = (
            "No nestpy application on this app: pass lifespan=nestpy_lifespan(AppModule) to "
            "Starlette/FastAPI (and run it under its lifespan: uvicorn, or httpx with "
            "LifespanManager / TestClient as a context manager)"
        )
        raise RuntimeError(msg)
    return state


def inject(token: Any) -> Callable[..., Any]:
    """A FastAPI dependency giving the nestpy provider ``token``:
    ``service: Annotated[Service, Depends(inject(Service))]``.

    A request-scoped provider is built for each HTTP request (with the Starlette ``Request``
    as its ``REQUEST``) and released after the response.
    """
    from starlette.requests import Request

    async def dependency(request: Request) -> AsyncIterator[Any]:
        context = _state_of(request).context
        if not context.is_request_scoped(token):
            yield context.get(token)
            return
        context_id = object()
        context.register_request_by_context_id(request, context_id)
        try:
            yield await context.resolve(token, context_id)
        finally:
            context.release_context(context_id)

    request_param = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
    )
    dependency.__signature__ = inspect.Signature([request_param])  # type: ignore[attr-defined]
    return dependency
