"""Readiness of a microservice's transport: connected, every handler subscribed, not draining.

Reads the server's state and never changes it. Transports without a status stream (the
in-memory one) are ready once listening and until they drain.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nestpy.microservices.server import Server
from nestpy.ops.health import HealthCheckError, HealthIndicator

__all__ = ["TransportIndicator"]


class TransportIndicator(HealthIndicator):
    """Up when the server listens, its connection is up and every handler route is subscribed."""

    timeout: ClassVar[float] = 1.0

    def __init__(self, server: Server, key: str | None = None) -> None:
        self.server = server
        transport = type(server).transport_id
        self._key = key or (transport.name.lower().replace("_", "-") if transport else "transport")
        self.listening = False
        """Set by the microservice once ``listen()`` has returned (every SUBACK received)."""
        self.draining = False
        """Set by the microservice when it starts closing."""

    @property
    def name(self) -> str:
        """The check's name: the transport (``mqtt``)."""
        return self._key

    def check(self) -> dict[str, Any]:
        """Details when ready; raises ``HealthCheckError`` naming the state otherwise."""
        server = self.server
        status = getattr(server, "status", None)
        connection = str(status.current) if status is not None else "n/a"
        details: dict[str, Any] = {"connection": connection}
        routes = list(server.handlers)
        subscribed = self._subscribed(routes)
        if subscribed is not None:
            details["subscriptions"] = f"{subscribed}/{len(routes)}"
        problem = None
        if self.draining or not getattr(server, "_accepting", True):
            problem = "draining: the service is shutting down"
        elif not self.listening:
            problem = "connecting: listen() has not finished"
        elif status is not None and connection != "connected":
            problem = f"{connection}: the transport is not connected"
        elif subscribed is not None and subscribed < len(routes):
            problem = "subscribing: not every handler route is subscribed"
        if problem is not None:
            raise HealthCheckError(problem, details)
        return details

    def _subscribed(self, routes: list[str]) -> int | None:
        connection = getattr(self.server, "_connection", None)
        granted = getattr(connection, "subscriptions", None)
        topic_of = getattr(self.server, "subscription_topic", None)
        if granted is None or topic_of is None:
            return None
        return sum(1 for route in routes if topic_of(route) in granted)
