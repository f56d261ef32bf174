"""Operations: health probes, Prometheus metrics, the HTTP side and hybrid apps.

``create_microservice(..., health_port=8080)`` (or ``nestpy run --health-port 8080``) serves
``/livez``, ``/readyz``, ``/metrics`` and ``/asyncapi.json``; ``ops_routes()`` gives the same
routes to mount in your own Starlette/FastAPI app; ``nestpy_lifespan()`` boots a nestpy
application and its microservices inside one. Needs the ``ops`` extra
(``pip install nestpy-mqtt[ops]``: starlette, uvicorn, prometheus_client), imported lazily.
"""

from nestpy.ops.attach import Operations
from nestpy.ops.health import HealthCheckError, HealthCheckService, HealthIndicator, HealthReport
from nestpy.ops.http import create_ops_app, ops_routes
from nestpy.ops.hybrid import NestpyState, inject, nestpy_lifespan
from nestpy.ops.metrics import NestpyMetrics, metrics_for
from nestpy.ops.readiness import TransportIndicator
from nestpy.ops.serve import HealthPortInUseError, OpsServer

__all__ = [
    "HealthCheckError",
    "HealthCheckService",
    "HealthIndicator",
    "HealthPortInUseError",
    "HealthReport",
    "NestpyMetrics",
    "NestpyState",
    "Operations",
    "OpsServer",
    "TransportIndicator",
    "create_ops_app",
    "inject",
    "metrics_for",
    "nestpy_lifespan",
    "ops_routes",
]
