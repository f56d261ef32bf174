"""The operations routes as a Starlette app: ``/livez``, ``/readyz``, ``/metrics``,
``/asyncapi.json``; mount them in your own FastAPI/Starlette app or serve them alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from nestpy.ops.health import HealthCheckService, HealthIndicator

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

__all__ = ["create_ops_app", "ops_routes"]


def ops_routes(
    indicators: Iterable[HealthIndicator] | Callable[[], Iterable[HealthIndicator]] = (),
    *,
    registry: CollectorRegistry | None = None,
    metrics: bool = True,
    asyncapi: Callable[[], dict[str, Any]] | None = None,
) -> list[BaseRoute]:
    """Starlette routes: ``GET /livez``, ``/readyz`` (the indicators), ``/metrics`` (when
    ``metrics``; ``registry`` defaults to prometheus_client's) and ``/asyncapi.json``
    (when ``asyncapi`` gives the document).

    ``indicators`` may be a callable, read at each probe (indicators added later count).
    """
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    def current() -> list[HealthIndicator]:
        return list(indicators() if callable(indicators) else indicators)

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        report = await HealthCheckService(current()).check()
        return JSONResponse(report.to_json(), status_code=200 if report.ok else 503)

    routes: list[BaseRoute] = [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if metrics:
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

        source = registry if registry is not None else REGISTRY

        async def metrics_route(request: Request) -> Response:
            return Response(generate_latest(source), media_type=CONTENT_TYPE_LATEST)

        routes.append(Route("/metrics", metrics_route, methods=["GET"]))
    if asyncapi is not None:
        document = asyncapi

        async def asyncapi_route(request: Request) -> Response:
            return JSONResponse(document())

        routes.append(Route("/asyncapi.json", asyncapi_route, methods=["GET"]))
    return routes


def create_ops_app(
    indicators: Iterable[HealthIndicator] | Callable[[], Iterable[HealthIndicator]] = (),
    **options: Any,
) -> Starlette:
    """A Starlette app with ``ops_routes(indicators, **options)`` only."""
    from starlette.applications import Starlette

    return Starlette(routes=ops_routes(indicators, **options))
