"""Prometheus metrics of a nestpy service, through ``prometheus_client``.

Label values are handler patterns (the registered route, e.g. ``sensors/+/temperature``),
never the topics a message arrived on; client patterns beyond ``max_client_patterns``
distinct values share the label ``__other__``, so no label grows without bound.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import TYPE_CHECKING, Any

from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.server import Server
from nestpy.ops import dispatch_hooks
from nestpy.ops.metric_tallies import Tally, TallyCollector

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["NestpyMetrics", "metrics_for"]

OTHER = "__other__"
MESSAGES_HELP = "Messages handled, by handler pattern, kind (request/event) and outcome."
HANDLER_DURATION_HELP = "Time spent in the handler (guards, pipes and interceptors included)."
CLIENT_REQUESTS_HELP = "Client requests (send), by pattern and outcome (success/error/timeout/...)."
CLIENT_DURATION_HELP = "Time from send to the last reply."

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
)  # fmt: skip


class NestpyMetrics:
    """The metric families, registered once in ``registry``, and the hooks that feed them.

    ``instrument()`` starts counting every handler call and client request in the process;
    ``bind_server(server)`` adds the gauges of one server (in flight, backlog, connection)
    and counts its reconnects. Use ``metrics_for(registry)`` to share one instance.
    """

    def __init__(self, registry: CollectorRegistry | None = None, max_client_patterns: int = 100):
        from prometheus_client import REGISTRY, Counter, Gauge

        self.registry = registry if registry is not None else REGISTRY
        reg = self.registry
        self.max_client_patterns = max_client_patterns
        self.handlers = TallyCollector(
            ("nestpy_messages", MESSAGES_HELP, ("pattern", "kind", "outcome")),
            ("nestpy_handler_duration_seconds", HANDLER_DURATION_HELP),
            LATENCY_BUCKETS,
        )
        self.clients = TallyCollector(
            ("nestpy_client_requests", CLIENT_REQUESTS_HELP, ("pattern", "outcome")),
            ("nestpy_client_request_duration_seconds", CLIENT_DURATION_HELP),
            LATENCY_BUCKETS,
        )
        reg.register(self.handlers)
        reg.register(self.clients)
        self.in_flight = Gauge(
            "nestpy_handlers_in_flight",
            "Handler calls running now (asynchronous handlers).",
            ["server"],
            registry=reg,
        )
        self.backlog = Gauge(
            "nestpy_backlog_messages",
            "Messages waiting for a handler slot (max_concurrency reached).",
            ["server"],
            registry=reg,
        )
        self.connected = Gauge(
            "nestpy_transport_connected",
            "1 while the server's connection to the broker is up, else 0.",
            ["server"],
            registry=reg,
        )
        self.reconnects = Counter(
            "nestpy_transport_reconnects",
            "Reconnections of the server to the broker after a lost connection.",
            ["server"],
            registry=reg,
        )
        self.client_events = Counter(
            "nestpy_client_events",
            "Events published (emit), by pattern.",
            ["pattern"],
            registry=reg,
        )
        self._handler_tallies: dict[MessageHandler, Tally] = {}
        self._client_tallies: dict[str, Tally] = {}
        self._event_children: dict[str, Any] = {}
        self._instrumented = False
        self._users = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def instrument(self) -> NestpyMetrics:
        """Start counting handler calls and client requests (idempotent)."""
        if not self._instrumented:
            dispatch_hooks.add_observer(self)
            self._instrumented = True
        return self

    def uninstrument(self) -> None:
        """Stop counting; the methods wrapped by ``instrument()`` are restored."""
        if self._instrumented:
            dispatch_hooks.remove_observer(self)
            self._instrumented = False

    def acquire(self) -> None:
        """``instrument()`` for one more user (a running microservice)."""
        self._users += 1
        self.instrument()

    def release(self) -> None:
        """The last user gone, ``uninstrument()``."""
        self._users = max(self._users - 1, 0)
        if not self._users:
            self.uninstrument()

    def bind_server(self, server: Server, name: str | None = None) -> None:
        """Export ``server``'s in-flight, backlog and connection gauges; count its reconnects."""
        label = name or type(server).__name__
        tasks: Sized = getattr(server, "_tasks", ())
        backlog: Sized = getattr(server, "_backlog", ())
        self.in_flight.labels(label).set_function(lambda: len(tasks))
        self.backlog.labels(label).set_function(lambda: len(backlog))
        status = getattr(server, "status", None)
        if status is not None:
            self.connected.labels(label).set_function(
                lambda: 1.0 if str(status.current) == "connected" else 0.0
            )
        on = getattr(server, "on", None)
        if on is not None:
            reconnects = self.reconnects.labels(label)
            connects = [0]

            def on_connect(*_: Any) -> None:
                connects[0] += 1
                if connects[0] > 1:
                    reconnects.inc()

            on("connect", on_connect)

    # -- DispatchObserver ----------------------------------------------------------------------

    def handled(
        self, handler: MessageHandler, context: BaseRpcContext, seconds: float, outcome: str
    ) -> None:
        """Count one handler call and its duration."""
        tally = self._handler_tallies.get(handler)
        if tally is None:
            kind = "event" if handler.is_event else "request"
            tally = self._handler_tallies[handler] = self.handlers.tally((handler.route, kind))
        tally.add(LATENCY_BUCKETS, seconds, outcome)

    def _client_label(self, route: str) -> str:
        if route in self._client_tallies or len(self._client_tallies) < self.max_client_patterns:
            return route
        return OTHER

    def requested(self, route: str, seconds: float, outcome: str) -> None:
        """Count one client request and its duration."""
        tally = self._client_tallies.get(route)
        if tally is None:
            label = self._client_label(route)
            tally = self.clients.tally((label,))
            if label != OTHER:
                self._client_tallies[route] = tally
        tally.add(LATENCY_BUCKETS, seconds, outcome)

    def emitted(self, route: str) -> None:
        """Count one published event."""
        child = self._event_children.get(route)
        if child is None:
            label = route if len(self._event_children) < self.max_client_patterns else OTHER
            child = self.client_events.labels(label)
            if label != OTHER:
                self._event_children[route] = child
        child.inc()


_shared: dict[int, NestpyMetrics] = {}


def metrics_for(registry: CollectorRegistry | None = None) -> NestpyMetrics:
    """The one ``NestpyMetrics`` of ``registry`` (default: prometheus_client's global one)."""
    if registry is None:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    metrics = _shared.get(id(registry))
    if metrics is None or metrics.registry is not registry:
        metrics = _shared[id(registry)] = NestpyMetrics(registry)
    return metrics
