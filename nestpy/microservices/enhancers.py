"""Guards, interceptors, pipes and exception filters around message handlers, in Nest's order.

Per call: guards, then interceptors (their part before ``await call_next()``), then pipes on
the arguments, then the handler, then the interceptors' part after; an exception anywhere goes
to the filters (the method's, then the controller's, then the global ones; the first whose
``@Catch`` matches handles it). A guard that denies access raises
``RpcException("Forbidden resource")``.

Enhancers named by class are providers of the controller's module (constructor injection,
scopes); global ones come from ``APP_GUARD``/... providers and ``app.use_global_*``.

Example::

    @Injectable()
    class AuthGuard:
        def __init__(self, tokens: TokenService) -> None:
            self.tokens = tokens

        def can_activate(self, context: ExecutionContext) -> bool:
            return self.tokens.valid(context.switch_to_rpc().get_data().get("token"))

    class Timing:
        async def intercept(self, context: ExecutionContext, call_next: CallHandler) -> Any:
            started = time.perf_counter()
            result = await call_next()
            return result

    @Catch(ValueError)
    class ValueErrorFilter:
        def catch(self, exception: ValueError, host: ArgumentsHost) -> Any:
            raise RpcException({"code": "bad_value", "message": str(exception)})

    @Controller()
    @UseGuards(AuthGuard)
    class OrdersController:
        @MessagePattern("orders.create")
        @UseInterceptors(Timing)
        @UseFilters(ValueErrorFilter)
        def create(self, data: dict) -> dict: ...
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol

from nestpy.common.enhancers import (
    CATCH_ATTR,
    FILTERS_ATTR,
    GUARDS_ATTR,
    INTERCEPTORS_ATTR,
    PIPES_ATTR,
    Catch,
    SetMetadata,
    UseFilters,
    UseGuards,
    UseInterceptors,
    UsePipes,
    enhancers_of,
)
from nestpy.core.injectables import EnhancerSource
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import RpcException
from nestpy.microservices.execution_context import (
    ArgumentsHost,
    CallHandler,
    ExecutionContext,
    RpcArgumentsHost,
)
from nestpy.microservices.handler_params import (
    _CONTEXT,
    _CustomParam,
    _PathParam,
    _PayloadParam,
    build_argument_plan,
    needs_pipeline,
)

__all__ = [
    "FORBIDDEN_MESSAGE",
    "ArgumentsHost",
    "CallHandler",
    "CanActivate",
    "Catch",
    "ExceptionFilter",
    "ExecutionContext",
    "NestInterceptor",
    "Pipeline",
    "RpcArgumentsHost",
    "SetMetadata",
    "UseFilters",
    "UseGuards",
    "UseInterceptors",
    "UsePipes",
]

FORBIDDEN_MESSAGE = "Forbidden resource"

Resolve = Callable[[Any], EnhancerSource]
Invoke = Callable[[list[Any]], Awaitable[Any]]


class CanActivate(Protocol):
    """A guard."""

    def can_activate(self, context: ExecutionContext) -> bool | Awaitable[bool]:
        """Whether the call may proceed."""


class NestInterceptor(Protocol):
    """An interceptor: runs around the handler; ``await call_next()`` calls it."""

    def intercept(self, context: ExecutionContext, call_next: CallHandler) -> Awaitable[Any]:
        """Return the (possibly transformed) result."""


class ExceptionFilter(Protocol):
    """An exception filter: return a value to reply with it, or raise to reply with an error."""

    def catch(self, exception: Any, host: ArgumentsHost) -> Any:
        """Handle ``exception``."""


def _no_argument_source(ref: Any) -> EnhancerSource:
    return EnhancerSource(ref() if inspect.isclass(ref) else ref)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class _Enhancers:
    """Instances of one call's enhancers (static ones, or resolved for one message)."""

    __slots__ = ("filters", "guards", "interceptors", "param_pipes", "pipes")

    def __init__(
        self,
        guards: list[Any],
        interceptors: list[Any],
        filters: list[Any],
        pipes: list[Any],
        param_pipes: list[list[Any]],
    ) -> None:
        self.guards = guards
        self.interceptors = interceptors
        self.filters = filters
        self.pipes = pipes
        self.param_pipes = param_pipes


async def _resolve_all(sources: list[EnhancerSource], context_id: Hashable) -> list[Any]:
    return [await source.resolve(context_id) for source in sources]


class Pipeline:
    """The enhancers and parameter plan of one handler, ready to run around it.

    ``resolve`` turns a class or instance named in the metadata into an ``EnhancerSource``
    (the application's DI; by default classes are built with no arguments); ``global_sources``
    are the global enhancers by kind.
    """

    __slots__ = ("_sources", "_static", "controller", "function", "plan", "request_scoped")

    def __init__(
        self,
        controller: type,
        function: Callable[..., Any],
        *,
        resolve: Resolve | None = None,
        global_sources: Mapping[str, Sequence[EnhancerSource]] | None = None,
    ) -> None:
        self.controller = controller
        self.function = function
        self.plan = build_argument_plan(function, skip_self=True)
        resolve = resolve or _no_argument_source
        found = global_sources or {}

        def collect(attr: str) -> list[EnhancerSource]:
            local = enhancers_of(controller, attr) + enhancers_of(function, attr)
            return [*found.get(attr, ()), *(resolve(ref) for ref in local)]

        filters = collect(FILTERS_ATTR)[::-1]  # method's first, then controller's, then global
        param_pipes = [
            [resolve(ref) for ref in getattr(param, "pipes", ())]
            if isinstance(param, _PayloadParam | _CustomParam)
            else []
            for param in self.plan
        ]
        self._sources = (
            collect(GUARDS_ATTR),
            collect(INTERCEPTORS_ATTR),
            filters,
            collect(PIPES_ATTR),
            param_pipes,
        )
        every = [*self._sources[0], *self._sources[1], *filters, *self._sources[3]]
        every += [source for sources in param_pipes for source in sources]
        self.request_scoped = any(source.request_scoped for source in every)
        """True when an enhancer must be resolved per message (in the message's context id)."""
        self._static = None if self.request_scoped else self._instances_of_static()

    def _instances_of_static(self) -> _Enhancers:
        guards, interceptors, filters, pipes, param_pipes = self._sources
        return _Enhancers(
            [s.instance for s in guards],
            [s.instance for s in interceptors],
            [s.instance for s in filters],
            [s.instance for s in pipes],
            [[s.instance for s in sources] for sources in param_pipes],
        )

    @property
    def is_empty(self) -> bool:
        """True when the handler has no enhancer, pipe or custom parameter."""
        guards, interceptors, filters, pipes, _ = self._sources
        return not (guards or interceptors or filters or pipes or needs_pipeline(self.plan))

    async def _enhancers(self, context_id: Hashable | None) -> _Enhancers:
        if self._static is not None:
            return self._static
        if context_id is None:
            msg = "a request-scoped enhancer needs the message's context id"
            raise RuntimeError(msg)
        guards, interceptors, filters, pipes, param_pipes = self._sources
        return _Enhancers(
            await _resolve_all(guards, context_id),
            await _resolve_all(interceptors, context_id),
            await _resolve_all(filters, context_id),
            await _resolve_all(pipes, context_id),
            [await _resolve_all(sources, context_id) for sources in param_pipes],
        )

    async def run(
        self,
        data: Any,
        context: BaseRpcContext,
        invoke: Invoke,
        context_id: Hashable | None = None,
    ) -> Any:
        """Guards, interceptors, pipes and ``invoke(arguments)``; exceptions through filters."""
        execution = ExecutionContext(self.controller, self.function, data, context)
        enhancers = await self._enhancers(context_id)
        try:
            for guard in enhancers.guards:
                if not await _maybe_await(guard.can_activate(execution)):
                    raise RpcException(FORBIDDEN_MESSAGE)

            async def call() -> Any:
                return await invoke(await self.arguments(execution, enhancers))

            return await self._intercept(execution, enhancers.interceptors, call, 0)
        except Exception as exc:
            for exception_filter in enhancers.filters:
                if isinstance(exc, getattr(exception_filter, CATCH_ATTR, (BaseException,))):
                    return await _maybe_await(exception_filter.catch(exc, execution))
            raise

    async def _intercept(
        self,
        execution: ExecutionContext,
        interceptors: list[Any],
        call: Callable[[], Awaitable[Any]],
        index: int,
    ) -> Any:
        if index == len(interceptors):
            return await call()
        call_next = CallHandler(lambda: self._intercept(execution, interceptors, call, index + 1))
        return await _maybe_await(interceptors[index].intercept(execution, call_next))

    async def arguments(self, execution: ExecutionContext, enhancers: _Enhancers) -> list[Any]:
        """The handler's arguments: each payload or custom value through its pipes."""
        args: list[Any] = []
        for param, own_pipes in zip(self.plan, enhancers.param_pipes, strict=True):
            if param is _CONTEXT:
                args.append(execution.context)
                continue
            if isinstance(param, _PathParam):
                args.append(param.of(execution.context))
                continue
            if isinstance(param, _CustomParam):
                value = await _maybe_await(param.marker.factory(param.marker.data, execution))
            else:
                value = param.raw(execution.data)
            for pipe in [*enhancers.pipes, *own_pipes]:
                value = await _maybe_await(pipe.transform(value, param.metadata))
            if isinstance(param, _PayloadParam):
                value = param.validate(value)
            args.append(value)
        return args
