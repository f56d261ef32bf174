"""``ExecutionContext``: what guards, interceptors, filters and custom parameters see of a call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nestpy.microservices.context import BaseRpcContext


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
    """One handler call: the controller class, the handler function, the data and context.

    Filters receive it too (Nest's ``ArgumentsHost``).
    """

    controller: type
    handler: Callable[..., Any]
    data: Any
    context: BaseRpcContext

    def get_class(self) -> type:
        """The controller class."""
        return self.controller

    def get_handler(self) -> Callable[..., Any]:
        """The handler function (read its ``SetMetadata`` with ``Reflector``)."""
        return self.handler

    def get_type(self) -> str:
        """Always ``"rpc"`` for microservices."""
        return "rpc"

    def get_args(self) -> tuple[Any, BaseRpcContext]:
        """``(data, context)``."""
        return self.data, self.context

    def get_arg_by_index(self, index: int) -> Any:
        """``data`` at 0, ``context`` at 1, else None."""
        return (self.data, self.context)[index] if index in (0, 1) else None

    def switch_to_rpc(self) -> RpcArgumentsHost:
        """The RPC arguments host."""
        return RpcArgumentsHost(self.data, self.context)


ArgumentsHost = ExecutionContext
"""What exception filters receive (the same object as guards get)."""


class CallHandler:
    """The rest of the chain, given to an interceptor: ``await call_next()`` runs it.

    ``call_next.handle()`` is the same call, under Nest's name.
    """

    __slots__ = ("_next",)

    def __init__(self, next_: Callable[[], Awaitable[Any]]) -> None:
        self._next = next_

    def __call__(self) -> Awaitable[Any]:
        """Run the handler (and the interceptors after this one); await the result."""
        return self._next()

    def handle(self) -> Awaitable[Any]:
        """Run the handler (and the interceptors after this one); await the result."""
        return self._next()
