"""Resources: factories that set something up and tear it down (dependency-injector ``Resource``).

A ``use_factory`` that is a generator function, an async generator function, a function
decorated with ``contextlib.contextmanager``/``asynccontextmanager``, or a context manager class
gives its yielded (entered) value; what follows the ``yield`` (the exit) runs at shutdown, in
reverse order of creation. A request-scoped one is torn down when its message is done::

    def pool(settings: Settings) -> Iterator[Pool]:
        pool = Pool(settings.url)
        yield pool
        pool.close()

    Provider(Pool, use_factory=pool, inject=[Settings])
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from nestpy.common.tokens import token_name
from nestpy.errors import NestpyError

Teardown = Callable[[], Any]


class TransientResourceError(NestpyError, TypeError):
    """A resource factory (generator, context manager) declared transient."""

    def __init__(self, token: Any) -> None:
        super().__init__(
            f"The provider {token_name(token)} has a resource factory (a generator or a context "
            "manager) and is transient: nothing would tear its instances down. Make it a "
            "default (singleton) or request-scoped provider."
        )


_teardowns: contextvars.ContextVar[list[Teardown]] = contextvars.ContextVar("nestpy_teardowns")


def is_resource_factory(factory: Any) -> bool:
    """True for generator (async too), ``@contextmanager`` functions and context manager classes."""
    if inspect.isgeneratorfunction(factory) or inspect.isasyncgenfunction(factory):
        return True
    wrapped = getattr(factory, "__wrapped__", None)
    if wrapped is not None and (
        inspect.isgeneratorfunction(wrapped) or inspect.isasyncgenfunction(wrapped)
    ):
        return True
    return inspect.isclass(factory) and (
        hasattr(factory, "__enter__") or hasattr(factory, "__aenter__")
    )


def is_async_resource(factory: Any) -> bool:
    """True when entering the resource must be awaited."""
    if inspect.isasyncgenfunction(factory):
        return True
    wrapped = getattr(factory, "__wrapped__", None)
    if wrapped is not None and inspect.isasyncgenfunction(wrapped):
        return True
    return inspect.isclass(factory) and hasattr(factory, "__aenter__")


def _context_manager(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if inspect.isgeneratorfunction(factory):
        return contextlib.contextmanager(factory)(*args, **kwargs)
    if inspect.isasyncgenfunction(factory):
        return contextlib.asynccontextmanager(factory)(*args, **kwargs)
    return factory(*args, **kwargs)


def enter_in_context(factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Enter a resource for the current request context; its exit runs when the context ends.

    Called inside the context id's ``contextvars.Context`` (by a ``ContextLocalSingleton``);
    an async resource returns a coroutine, awaited by the caller.
    """
    teardowns = _teardowns.get(None)
    if teardowns is None:
        teardowns = []
        _teardowns.set(teardowns)
    manager = _context_manager(factory, args, kwargs)
    if hasattr(manager, "__aenter__"):

        async def enter() -> Any:
            value = await manager.__aenter__()
            teardowns.append(lambda: manager.__aexit__(None, None, None))
            return value

        return enter()
    value = manager.__enter__()
    teardowns.append(lambda: manager.__exit__(None, None, None))
    return value


async def close_context(context: contextvars.Context) -> None:
    """Run the teardowns of the request-scoped resources entered in ``context``, newest first."""
    teardowns: list[Teardown] = context.get(_teardowns) or []
    for teardown in reversed(teardowns):
        result = teardown()
        if inspect.isawaitable(result):
            await result


async def shutdown_all(resources: list[Any]) -> None:
    """Shut dependency-injector ``Resource`` providers down, newest first."""
    for resource in reversed(resources):
        result: Awaitable[Any] | None = resource.shutdown()
        if inspect.isawaitable(result):
            await result
