"""A bound message or event handler: how to get its instance and call it for one message."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from typing import Any, Protocol

from nestpy.microservices.context import BaseRpcContext, RequestContext
from nestpy.microservices.enhancers import Pipeline
from nestpy.microservices.handler_params import (
    build_argument_plan,
    fill_arguments,
    inline_call,
    wants_raw_bytes,
)


class MessageScope(Protocol):
    """The request scope of one message: a context id with ``REQUEST``/``CONTEXT`` registered."""

    @property
    def controller_scoped(self) -> bool:
        """True when the controller itself is built per message."""

    async def enter(self, request: RequestContext) -> tuple[Hashable, Any]:
        """Open a context id for ``request``; return it and the controller (None if static)."""

    async def exit(self, context_id: Hashable) -> None:
        """Tear down and release the request-scoped instances of ``context_id``."""


class MessageHandler:
    """One handler method of one controller, registered under one route.

    Static controllers are bound once (``method`` is the bound method); request-scoped ones are
    resolved per message through ``scope`` (``method`` is then the plain function). ``scope``
    is also given when only an enhancer is request-scoped.
    ``is_inline`` handlers (plain ``def``, static, no enhancers, not run in a thread) are called
    straight from the transport's receive path, with no task, which is the fastest path.
    """

    __slots__ = (
        "_bound",
        "_inline",
        "_kind",
        "_name",
        "_plan",
        "envelope",
        "extras",
        "is_event",
        "is_inline",
        "method_name",
        "pipeline",
        "route",
        "run_in_thread",
        "scope",
        "timeout",
        "wants_bytes",
    )

    def __init__(
        self,
        route: str,
        method: Callable[..., Any],
        *,
        is_event: bool,
        extras: Mapping[str, Any] | None = None,
        run_in_thread: bool = False,
        scope: MessageScope | None = None,
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
        self._name = getattr(method, "__name__", "")
        self._bound = method
        controller_scoped = scope is not None and scope.controller_scoped
        self._plan = build_argument_plan(method, skip_self=controller_scoped)
        self._inline = inline_call(method, self._plan)
        self.envelope = self.extras.get("envelope", True) is not False
        """False: the handler takes whole payloads, not the ``data`` of Nest's envelope."""
        self.wants_bytes = not self.envelope and wants_raw_bytes(self._plan)
        """The payload parameter is annotated ``bytes``: it gets the payload as received."""
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
        return self._inline(data, context)

    async def invoke(self, data: Any, context: BaseRpcContext, pattern: Any = None) -> Any:
        """Call the handler for one message, through its guards, interceptors, pipes, filters.

        Returns its value, or an async iterator for a streaming handler; a message's request
        scope is released when a plain value is returned, or when the stream ends.
        """
        scope = self.scope
        if scope is None:
            if self.pipeline is None:
                return await self._call(self._bound, fill_arguments(self._plan, data, context))
            return await self.pipeline.run(data, context, self._invoker(self._bound))
        context_id, instance = await scope.enter(RequestContext(pattern, data, context))
        release = True
        try:
            method = self._bound if instance is None else getattr(instance, self._name)
            if self.pipeline is None:
                result = await self._call(method, fill_arguments(self._plan, data, context))
            else:
                result = await self.pipeline.run(data, context, self._invoker(method), context_id)
            if isinstance(result, AsyncIterator):
                release = False
                return _release_after(result, lambda: scope.exit(context_id))
            return result
        finally:
            if release:
                await scope.exit(context_id)

    def _invoker(self, method: Callable[..., Any]) -> Callable[[list[Any]], Any]:
        async def invoke(args: list[Any]) -> Any:
            return await self._call(method, args)

        return invoke

    async def _call(self, method: Callable[..., Any], args: list[Any]) -> Any:
        if self._kind == "async":
            return await method(*args)
        if self._kind == "asyncgen":
            return method(*args)
        if self.run_in_thread:
            return await asyncio.to_thread(method, *args)
        return method(*args)


async def _release_after(stream: AsyncIterator[Any], release: Callable[[], Awaitable[None]]) -> Any:
    try:
        async for item in stream:
            yield item
    finally:
        await release()
