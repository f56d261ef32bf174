"""A bound message or event handler: how to get its instance and call it for one message."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nestpy.microservices.context import BaseRpcContext, RequestContext
from nestpy.microservices.enhancers import Pipeline
from nestpy.microservices.handler_params import build_argument_plan, fill_arguments

InstanceScope = Callable[[RequestContext], Awaitable[tuple[Any, Callable[[], None]]]]
"""Resolves a request-scoped controller for one message; returns it and a release callback."""


class MessageHandler:
    """One handler method of one controller, registered under one route.

    Static controllers are bound once (``method`` is the bound method); request-scoped ones are
    resolved per message through ``scope`` (``method`` is then the plain function).
    ``is_inline`` handlers (plain ``def``, static, not run in a thread) are called straight
    from the transport's receive path, with no task, which is the fastest path.
    """

    __slots__ = (
        "_bound",
        "_kind",
        "_plan",
        "extras",
        "is_event",
        "is_inline",
        "method_name",
        "pipeline",
        "route",
        "run_in_thread",
        "scope",
        "timeout",
    )

    def __init__(
        self,
        route: str,
        method: Callable[..., Any],
        *,
        is_event: bool,
        extras: Mapping[str, Any] | None = None,
        run_in_thread: bool = False,
        scope: InstanceScope | None = None,
        pipeline: Pipeline | None = None,
        timeout: float | None = None,
    ) -> None:
        self.route = route
        self.timeout = timeout
        """Seconds this handler may run (``None``: the server's ``handler_timeout``)."""
        self.is_event = is_event
        self.extras = dict(extras or {})
        self.run_in_thread = run_in_thread
        self.scope = scope
        self.pipeline = pipeline if pipeline is not None and not pipeline.is_empty else None
        self.method_name = getattr(method, "__qualname__", repr(method))
        self._bound = method
        self._plan = build_argument_plan(method, skip_self=scope is not None)
        if inspect.isasyncgenfunction(method):
            self._kind = "asyncgen"
        elif inspect.iscoroutinefunction(method):
            self._kind = "async"
        else:
            self._kind = "sync"
        self.is_inline = (
            scope is None and self.pipeline is None and self._kind == "sync" and not run_in_thread
        )

    def call_inline(self, data: Any, context: BaseRpcContext) -> Any:
        """Call a static ``def`` handler synchronously; exceptions propagate."""
        return self._bound(*fill_arguments(self._plan, data, context))

    async def invoke(self, data: Any, context: BaseRpcContext, pattern: Any = None) -> Any:
        """Call the handler for one message, through its guards, interceptors and filters.

        Returns its value, or an async iterator for a streaming handler; a request-scoped
        instance is released when a plain value is returned, or when the stream ends.
        """
        if self.pipeline is None:
            return await self._call(data, context, pattern)
        return await self.pipeline.run(data, context, lambda: self._call(data, context, pattern))

    async def _call(self, data: Any, context: BaseRpcContext, pattern: Any) -> Any:
        method = self._bound
        release: Callable[[], None] | None = None
        if self.scope is not None:
            instance, release = await self.scope(RequestContext(pattern, data, context))
            method = getattr(instance, self._bound.__name__)
        try:
            args = fill_arguments(self._plan, data, context)
            if self._kind == "async":
                return await method(*args)
            if self._kind == "asyncgen":
                stream = method(*args)
                if release is not None:
                    stream, release = _release_after(stream, release), None
                return stream
            if self.run_in_thread:
                return await asyncio.to_thread(method, *args)
            return method(*args)
        finally:
            if release is not None:
                release()


async def _release_after(stream: Any, release: Callable[[], None]) -> Any:
    try:
        async for item in stream:
            yield item
    finally:
        release()
