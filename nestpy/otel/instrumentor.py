"""``NestpyInstrumentor``: the OpenTelemetry instrumentor of nestpy's clients and handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.patterns import transform_pattern_to_route
from nestpy.ops.patching import Patch
from nestpy.otel import attributes as attr
from nestpy.otel.propagation import extract_context, mqtt_publish_patch

__all__ = ["NestpyInstrumentor"]

TRACER_NAME = "nestpy"


def _system_of(obj: Any) -> str:
    return "mqtt" if type(obj).__module__.startswith("nestpy_mqtt") else "nestpy"


class NestpyInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces clients (PRODUCER ``send <pattern>``) and handlers (CONSUMER ``process
    <pattern>``); ``uninstrument()`` restores the wrapped methods.

    Example::

        NestpyInstrumentor().instrument(tracer_provider=provider)
    """

    _patches: list[Patch]

    def instrumentation_dependencies(self) -> Collection[str]:
        """None: nestpy ships its own instrumentation."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(TRACER_NAME, tracer_provider=kwargs.get("tracer_provider"))
        self._patches = [
            Patch(MessageHandler, "invoke", lambda f: _traced_invoke(f, tracer)),
            Patch(MessageHandler, "call_inline", lambda f: _traced_call_inline(f, tracer)),
            Patch(ClientProxy, "_request_last", lambda f: _traced_request(f, tracer)),
            Patch(ClientProxy, "_request_stream", lambda f: _traced_stream(f, tracer)),
            Patch(ClientProxy, "emit", lambda f: _traced_emit(f, tracer)),
        ]
        publish = mqtt_publish_patch()
        if publish is not None:
            self._patches.append(publish)

    def _uninstrument(self, **kwargs: Any) -> None:
        for patch in reversed(self._patches):
            patch.remove()
        self._patches = []


def _failed(span: trace.Span, exc: Exception) -> None:
    # What start_as_current_span does on an exception, without its two generator-based
    # context managers per call (spans are started by hand here for speed).
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


class _Current:
    """Make ``span`` current for a block; end it after, recording an exception that escapes.

    A plain class: cheaper per call than ``start_as_current_span``'s generator-based context
    managers (spans are started by hand here for speed).
    """

    __slots__ = ("span", "token")

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def __enter__(self) -> trace.Span:
        self.token = otel_context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        otel_context.detach(self.token)
        if isinstance(exc, Exception):
            _failed(self.span, exc)
        self.span.end()


def _consumer_attributes(handler: MessageHandler, context: BaseRpcContext) -> dict[str, Any]:
    get_topic = getattr(context, "get_topic", None)
    return {
        attr.MESSAGING_SYSTEM: _system_of(context),
        attr.MESSAGING_DESTINATION_NAME: get_topic() if get_topic else handler.route,
        attr.MESSAGING_DESTINATION_TEMPLATE: handler.route,
        attr.MESSAGING_OPERATION_NAME: "process",
        attr.MESSAGING_OPERATION_TYPE: "process",
        attr.NESTPY_HANDLER: handler.method_name,
        attr.NESTPY_KIND: "event" if handler.is_event else "request",
    }


def _traced_invoke(original: Any, tracer: trace.Tracer) -> Any:
    async def invoke(
        self: MessageHandler, data: Any, context: BaseRpcContext, pattern: Any = None
    ) -> Any:
        span = tracer.start_span(
            f"process {self.route}",
            context=extract_context(context),
            kind=SpanKind.CONSUMER,
            attributes=_consumer_attributes(self, context),
        )
        with _Current(span):
            return await original(self, data, context, pattern)

    return invoke


def _traced_call_inline(original: Any, tracer: trace.Tracer) -> Any:
    def call_inline(self: MessageHandler, data: Any, context: BaseRpcContext) -> Any:
        span = tracer.start_span(
            f"process {self.route}",
            context=extract_context(context),
            kind=SpanKind.CONSUMER,
            attributes=_consumer_attributes(self, context),
        )
        with _Current(span):
            return original(self, data, context)

    return call_inline


def _producer_attributes(client: ClientProxy, route: str, operation: str) -> dict[str, Any]:
    return {
        attr.MESSAGING_SYSTEM: _system_of(client),
        attr.MESSAGING_DESTINATION_NAME: route,
        attr.MESSAGING_OPERATION_NAME: operation,
        attr.MESSAGING_OPERATION_TYPE: "send",
    }


def _traced_request(original: Any, tracer: trace.Tracer) -> Any:
    async def _request_last(
        self: ClientProxy, pattern: Any, data: Any, timeout: float | None
    ) -> Any:
        route = transform_pattern_to_route(pattern)
        span = tracer.start_span(
            f"send {route}",
            kind=SpanKind.PRODUCER,
            attributes=_producer_attributes(self, route, "send"),
        )
        with _Current(span):
            return await original(self, pattern, data, timeout)

    return _request_last


def _traced_stream(original: Any, tracer: trace.Tracer) -> Any:
    async def _request_stream(
        self: ClientProxy, pattern: Any, data: Any, timeout: float | None
    ) -> AsyncIterator[Any]:
        route = transform_pattern_to_route(pattern)
        span = tracer.start_span(
            f"send {route}",
            kind=SpanKind.PRODUCER,
            attributes=_producer_attributes(self, route, "send"),
        )
        stream = original(self, pattern, data, timeout)
        try:
            while True:
                # Current only while the stream runs, never across the caller's own code.
                token = otel_context.attach(trace.set_span_in_context(span))
                try:
                    item = await stream.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    otel_context.detach(token)
                yield item
        except Exception as exc:
            _failed(span, exc)
            raise
        finally:
            await stream.aclose()
            span.end()

    return _request_stream


def _traced_emit(original: Any, tracer: trace.Tracer) -> Any:
    def emit(self: ClientProxy, pattern: Any, data: Any) -> Any:
        route = transform_pattern_to_route(pattern)
        span = tracer.start_span(
            f"send {route}",
            kind=SpanKind.PRODUCER,
            attributes=_producer_attributes(self, route, "emit"),
        )
        with _Current(span):
            return original(self, pattern, data)

    return emit
