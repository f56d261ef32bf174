"""``create_param_decorator``: custom handler parameters computed from the execution context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nestpy.microservices.execution_context import ExecutionContext

ParamFactory = Callable[[Any, ExecutionContext], Any]


class ParamMarker:
    """One use of a custom parameter decorator: ``Annotated[User, CurrentUser("id")]``."""

    __slots__ = ("data", "factory", "pipes")

    def __init__(self, factory: ParamFactory, data: Any, pipes: tuple[Any, ...]) -> None:
        self.factory = factory
        self.data = data
        self.pipes = pipes

    def __repr__(self) -> str:
        return f"{getattr(self.factory, '__name__', 'param')}({self.data!r})"


class ParamDecorator:
    """What ``create_param_decorator`` returns; call it (with optional data and pipes)."""

    __slots__ = ("factory",)

    def __init__(self, factory: ParamFactory) -> None:
        self.factory = factory

    def __call__(self, data: Any = None, *pipes: Any) -> ParamMarker:
        """The marker for ``Annotated[T, Decorator(data, *pipes)]``."""
        return ParamMarker(self.factory, data, pipes)


def create_param_decorator(factory: ParamFactory) -> ParamDecorator:
    """A parameter decorator whose value is ``factory(data, context)`` (sync or async).

    >>> Topic = create_param_decorator(lambda data, ctx: ctx.get_arg_by_index(1).get_topic())
    >>> @MessagePattern("sensors/+/temperature")
    ... def temperature(self, topic: Annotated[str, Topic()]) -> str: ...

    Pipes given after ``data`` run on the value; global, controller and method pipes too.
    """
    return ParamDecorator(factory)
