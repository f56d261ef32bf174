"""Observe every handler call and client request without editing the dispatch code.

Installing the first observer wraps ``MessageHandler.invoke`` / ``call_inline`` and
``ClientProxy``'s request and emit methods (the OpenTelemetry
instrumentor way); removing the last one restores the originals. Observers get one call per
finished handler call or client request; they must be cheap and must not raise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Protocol

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import ConnectionLostError, RequestTimeoutError
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.patterns import transform_pattern_to_route
from nestpy.ops.patching import Patch

__all__ = ["DispatchObserver", "add_observer", "remove_observer"]

SUCCESS, ERROR, CANCELLED, TIMEOUT, CONNECTION_LOST = (
    "success",
    "error",
    "cancelled",
    "timeout",
    "connection_lost",
)


class DispatchObserver(Protocol):
    """What an observer receives (every method is called on the event loop thread)."""

    def handled(
        self, handler: MessageHandler, context: BaseRpcContext, seconds: float, outcome: str
    ) -> None:
        """A handler call finished: ``success``, ``error`` or ``cancelled`` (timeout/shutdown)."""

    def requested(self, route: str, seconds: float, outcome: str) -> None:
        """A client request finished: ``success``, ``error``, ``timeout``, ``connection_lost``."""

    def emitted(self, route: str) -> None:
        """A client published an event."""


@dataclass
class _Hooks:
    observers: list[DispatchObserver] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)


_hooks = _Hooks()


def add_observer(observer: DispatchObserver) -> None:
    """Start calling ``observer``; the first one installs the wrappers."""
    if observer in _hooks.observers:
        return
    _hooks.observers.append(observer)
    if len(_hooks.observers) == 1:
        _install()


def remove_observer(observer: DispatchObserver) -> None:
    """Stop calling ``observer``; the last one restores the original methods."""
    if observer not in _hooks.observers:
        return
    _hooks.observers.remove(observer)
    if not _hooks.observers:
        for patch in _hooks.patches:
            patch.remove()
        _hooks.patches.clear()


def _patch(owner: type[Any], name: str, make: Callable[[Any], Any]) -> None:
    _hooks.patches.append(Patch(owner, name, make))


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, RequestTimeoutError):
        return TIMEOUT
    if isinstance(exc, ConnectionLostError):
        return CONNECTION_LOST
    return ERROR


def _install() -> None:
    observers = _hooks.observers

    def wrap_invoke(original: Any) -> Any:
        async def invoke(
            self: MessageHandler, data: Any, context: BaseRpcContext, pattern: Any = None
        ) -> Any:
            start = perf_counter()
            outcome = ERROR
            try:
                result = await original(self, data, context, pattern)
                outcome = SUCCESS
                return result
            except asyncio.CancelledError:
                outcome = CANCELLED
                raise
            finally:
                seconds = perf_counter() - start
                for observer in observers:
                    observer.handled(self, context, seconds, outcome)

        return invoke

    def wrap_call_inline(original: Any) -> Any:
        def call_inline(self: MessageHandler, data: Any, context: BaseRpcContext) -> Any:
            start = perf_counter()
            outcome = ERROR
            try:
                result = original(self, data, context)
                outcome = SUCCESS
                return result
            finally:
                seconds = perf_counter() - start
                for observer in observers:
                    observer.handled(self, context, seconds, outcome)

        return call_inline

    def report_request(pattern: Any, start: float, outcome: str) -> None:
        route = transform_pattern_to_route(pattern)
        seconds = perf_counter() - start
        for observer in observers:
            observer.requested(route, seconds, outcome)

    def wrap_request_last(original: Any) -> Any:
        async def _request_last(
            self: ClientProxy, pattern: Any, data: Any, timeout: float | None
        ) -> Any:
            start = perf_counter()
            outcome = ERROR
            try:
                result = await original(self, pattern, data, timeout)
                outcome = SUCCESS
                return result
            except BaseException as exc:
                outcome = _outcome_of(exc)
                raise
            finally:
                report_request(pattern, start, outcome)

        return _request_last

    def wrap_request_stream(original: Any) -> Any:
        async def _request_stream(
            self: ClientProxy, pattern: Any, data: Any, timeout: float | None
        ) -> AsyncIterator[Any]:
            start = perf_counter()
            outcome = ERROR
            try:
                async for item in original(self, pattern, data, timeout):
                    yield item
                outcome = SUCCESS
            except BaseException as exc:
                outcome = _outcome_of(exc)
                raise
            finally:
                report_request(pattern, start, outcome)

        return _request_stream

    def wrap_emit(original: Any) -> Any:
        def emit(self: ClientProxy, pattern: Any, data: Any) -> Any:
            sent = original(self, pattern, data)
            route = transform_pattern_to_route(pattern)
            for observer in observers:
                observer.emitted(route)
            return sent

        return emit

    _patch(MessageHandler, "invoke", wrap_invoke)
    _patch(MessageHandler, "call_inline", wrap_call_inline)
    _patch(ClientProxy, "_request_last", wrap_request_last)
    _patch(ClientProxy, "_request_stream", wrap_request_stream)
    _patch(ClientProxy, "emit", wrap_emit)
