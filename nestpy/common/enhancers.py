"""Enhancer decorators (``UseGuards``, ``UseInterceptors``, ``UseFilters``, ``UsePipes``,
``Catch``, ``SetMetadata``) and the ``APP_*`` tokens of global enhancers: metadata only.

An enhancer given as a class is a provider of the controller's module: it gets constructor
injection and its ``@Injectable(scope=...)`` scope. An instance is used as it is.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from nestpy.common.tokens import InjectionToken

T = TypeVar("T")

GUARDS_ATTR = "__nestpy_guards__"
INTERCEPTORS_ATTR = "__nestpy_interceptors__"
FILTERS_ATTR = "__nestpy_filters__"
PIPES_ATTR = "__nestpy_pipes__"
CATCH_ATTR = "__nestpy_catch__"
METADATA_ATTR = "__nestpy_metadata__"

ENHANCER_ATTRS = (GUARDS_ATTR, INTERCEPTORS_ATTR, FILTERS_ATTR, PIPES_ATTR)

APP_GUARD = InjectionToken("APP_GUARD")
"""``Provider(APP_GUARD, use_class=AuthGuard)``: a global guard, built with DI."""
APP_INTERCEPTOR = InjectionToken("APP_INTERCEPTOR")
"""``Provider(APP_INTERCEPTOR, use_class=Timing)``: a global interceptor, built with DI."""
APP_FILTER = InjectionToken("APP_FILTER")
"""``Provider(APP_FILTER, use_class=AllErrors)``: a global exception filter, built with DI."""
APP_PIPE = InjectionToken("APP_PIPE")
"""``Provider(APP_PIPE, use_class=ValidationPipe)``: a global pipe, built with DI."""

APP_ENHANCERS = {APP_GUARD: GUARDS_ATTR, APP_INTERCEPTOR: INTERCEPTORS_ATTR}
APP_ENHANCERS |= {APP_FILTER: FILTERS_ATTR, APP_PIPE: PIPES_ATTR}


class AppEnhancerKey:
    """The unique token each ``APP_*`` provider is registered under (several may coexist)."""

    __slots__ = ("kind",)

    def __init__(self, kind: InjectionToken) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"{self.kind!r} (#{id(self):x})"


def _own(target: Any, attr: str) -> list[Any]:
    # A class's own list only: a subclass must not extend its parent's list in place.
    holder = target.__dict__ if inspect.isclass(target) else vars(target)
    return list(holder.get(attr, []))


def _append(attr: str, items: tuple[Any, ...]) -> Callable[[T], T]:
    def decorate(target: T) -> T:
        setattr(target, attr, [*_own(target, attr), *items])
        return target

    return decorate


def UseGuards(*guards: Any) -> Callable[[T], T]:
    """Guards for a controller or a handler method: classes (built with DI) or instances."""
    return _append(GUARDS_ATTR, guards)


def UseInterceptors(*interceptors: Any) -> Callable[[T], T]:
    """Interceptors for a controller or a handler method: classes (DI) or instances."""
    return _append(INTERCEPTORS_ATTR, interceptors)


def UseFilters(*filters: Any) -> Callable[[T], T]:
    """Exception filters for a controller or a handler method: classes (DI) or instances."""
    return _append(FILTERS_ATTR, filters)


def UsePipes(*pipes: Any) -> Callable[[T], T]:
    """Pipes for every payload (and custom) parameter of a controller's or a method's handlers."""
    return _append(PIPES_ATTR, pipes)


def Catch(*exceptions: type[BaseException]) -> Callable[[T], T]:
    """Limit an exception filter to these exception types (all exceptions when empty)."""

    def decorate(target: T) -> T:
        setattr(target, CATCH_ATTR, exceptions or (BaseException,))
        return target

    return decorate


def SetMetadata(key: Any, value: Any) -> Callable[[T], T]:
    """Attach ``value`` under ``key`` to a controller or handler; read it with ``Reflector``.

    >>> @MessagePattern("orders.delete")
    ... @SetMetadata("roles", ["admin"])
    ... def delete(self, data: dict) -> None: ...
    """

    def decorate(target: T) -> T:
        holder = target.__dict__ if inspect.isclass(target) else vars(target)
        setattr(target, METADATA_ATTR, {**holder.get(METADATA_ATTR, {}), key: value})
        return target

    return decorate


def get_metadata(key: Any, target: Any) -> Any:
    """The ``SetMetadata`` value of ``key`` on ``target`` (a class or a function), else None."""
    if target is None:
        return None
    holder = target.__dict__ if inspect.isclass(target) else getattr(target, "__dict__", {})
    return holder.get(METADATA_ATTR, {}).get(key)


def enhancers_of(target: Any, attr: str) -> list[Any]:
    """The enhancers of one kind declared on a class or a function."""
    return _own(target, attr)


def enhancer_refs(controller: type[Any]) -> Iterator[Any]:
    """Every enhancer named on ``controller``, its methods and their parameters."""
    targets: list[Any] = [controller]
    for cls in controller.__mro__:
        targets += [m for m in vars(cls).values() if inspect.isfunction(m)]
    for target in targets:
        for attr in ENHANCER_ATTRS:
            yield from _own(target, attr)
        if not inspect.isclass(target):
            yield from _param_pipes(target)


def _param_pipes(function: Any) -> Iterator[Any]:
    # Parameter markers (``Payload("id", ParseIntPipe)``, custom decorators) carry ``pipes``.
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable hints are reported when the handler is bound
        return
    for hint in hints.values():
        for marker in getattr(hint, "__metadata__", ()):
            pipes = getattr(marker, "pipes", None)
            if isinstance(pipes, tuple):
                yield from pipes
