"""Guards, interceptors and exception filters for message handlers, in the shape Nest shows.

Per call: guards, then interceptors (around the handler), with exceptions going to the
filters (the method's first, then the controller's). A guard that denies access raises
``RpcException("Forbidden resource")``.

Example::

    class AuthGuard:
        def can_activate(self, context: ExecutionContext) -> bool:
            return context.switch_to_rpc().get_data().get("token") == "secret"

    class Timing:
        async def intercept(self, context: ExecutionContext, call_next: CallHandler) -> Any:
            started = time.perf_counter()
            result = await call_next()
            return result

    @Catch(ValueError)
    class ValueErrorFilter:
        def catch(self, exception: ValueError, host: ExecutionContext) -> Any:
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import RpcException

FORBIDDEN_MESSAGE = "Forbidden resource"
GUARDS_ATTR = "__nestpy_guards__"
INTERCEPTORS_ATTR = "__nestpy_interceptors__"
FILTERS_ATTR = "__nestpy_filters__"
CATCH_ATTR = "__nestpy_catch__"

T = TypeVar("T")
CallHandler = Callable[[], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class RpcArgumentsHost:
    """The RPC view of an execution context (Nest's ``switchToRpc()``)."""

    data: Any
    context: BaseRpcContext

    def get_data(self) -> Any:
        """The message data."""
        return self.data

    def get_context(self) -> BaseRpcContext:
        """The transport context (``MqttContext`` for MQTT)."""
        return self.context


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """What guards, interceptors and filters learn about the call."""

    controller: type
    handler: Callable[..., Any]
    data: Any
    context: BaseRpcContext

    def get_class(self) -> type:
        """The controller class."""
        return self.controller

    def get_handler(self) -> Callable[..., Any]:
        """The handler function."""
        return self.handler

    def get_type(self) -> str:
        """Always ``"rpc"`` for microservices."""
        return "rpc"

    def get_args(self) -> tuple[Any, BaseRpcContext]:
        """``(data, context)``."""
        return self.data, self.context

    def switch_to_rpc(self) -> RpcArgumentsHost:
        """The RPC arguments host."""
        return RpcArgumentsHost(self.data, self.context)


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

    def catch(self, exception: Any, host: ExecutionContext) -> Any:
        """Handle ``exception``."""


def _append(attr: str, items: tuple[Any, ...]) -> Callable[[T], T]:
    def decorate(target: T) -> T:
        setattr(target, attr, [*getattr(target, attr, []), *items])
        return target

    return decorate


def UseGuards(*guards: Any) -> Callable[[T], T]:
    """Guards (instances or no-argument classes) for a controller or a handler method."""
    return _append(GUARDS_ATTR, guards)


def UseInterceptors(*interceptors: Any) -> Callable[[T], T]:
    """Interceptors (instances or no-argument classes) for a controller or a handler method."""
    return _append(INTERCEPTORS_ATTR, interceptors)


def UseFilters(*filters: Any) -> Callable[[T], T]:
    """Exception filters (instances or no-argument classes) for a controller or a method."""
    return _append(FILTERS_ATTR, filters)


def Catch(*exceptions: type[BaseException]) -> Callable[[T], T]:
    """Limit an exception filter to these exception types (all exceptions when empty)."""

    def decorate(target: T) -> T:
        setattr(target, CATCH_ATTR, exceptions or (BaseException,))
        return target

    return decorate


def _instances(items: list[Any]) -> list[Any]:
    return [item() if isinstance(item, type) else item for item in items]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Pipeline:
    """The enhancers of one handler, ready to run around it."""

    __slots__ = ("controller", "filters", "function", "guards", "interceptors")

    def __init__(self, controller: type, function: Callable[..., Any]) -> None:
        self.controller = controller
        self.function = function
        self.guards = _instances(
            getattr(controller, GUARDS_ATTR, []) + getattr(function, GUARDS_ATTR, [])
        )
        self.interceptors = _instances(
            getattr(controller, INTERCEPTORS_ATTR, []) + getattr(function, INTERCEPTORS_ATTR, [])
        )
        self.filters = _instances(
            getattr(function, FILTERS_ATTR, []) + getattr(controller, FILTERS_ATTR, [])
        )

    @property
    def is_empty(self) -> bool:
        """True when the handler has no guard, interceptor or filter."""
        return not (self.guards or self.interceptors or self.filters)

    async def run(self, data: Any, context: BaseRpcContext, call: CallHandler) -> Any:
        """Run guards, interceptors and ``call``, sending exceptions through the filters."""
        execution = ExecutionContext(self.controller, self.function, data, context)
        try:
            for guard in self.guards:
                if not await _maybe_await(guard.can_activate(execution)):
                    raise RpcException(FORBIDDEN_MESSAGE)
            return await self._intercept(execution, call, 0)
        except Exception as exc:
            for exception_filter in self.filters:
                if isinstance(exc, getattr(exception_filter, CATCH_ATTR, (BaseException,))):
                    return await _maybe_await(exception_filter.catch(exc, execution))
            raise

    async def _intercept(self, execution: ExecutionContext, call: CallHandler, index: int) -> Any:
        if index == len(self.interceptors):
            return await call()
        interceptor = self.interceptors[index]
        return await interceptor.intercept(
            execution, lambda: self._intercept(execution, call, index + 1)
        )
