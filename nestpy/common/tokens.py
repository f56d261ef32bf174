"""Injection tokens: classes, strings or any hashable object, plus ``forward_ref``."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeAlias

Token: TypeAlias = Hashable | type[Any]
"""A provider token: a class, a string, or any hashable object."""


class InjectionToken:
    """A unique token compared by identity, like a JavaScript ``Symbol`` in Nest.

    >>> CONFIG = InjectionToken("CONFIG")
    """

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return self.description


class ForwardReference:
    """A token or module that is looked up lazily, when the application bootstraps."""

    __slots__ = ("forward_fn",)

    def __init__(self, forward_fn: Callable[[], Any]) -> None:
        self.forward_fn = forward_fn

    def __repr__(self) -> str:
        return f"forward_ref({self.forward_fn!r})"


def forward_ref(fn: Callable[[], Any]) -> ForwardReference:
    """Refer to a class or module that is not defined yet: ``forward_ref(lambda: CatsService)``.

    Use it in ``imports=[...]`` for module cycles and in ``Inject(...)`` on both sides of a
    provider cycle.
    """
    return ForwardReference(fn)


def unwrap_forward(value: Any) -> Any:
    """Return the target of a ``forward_ref``, or ``value`` itself."""
    return value.forward_fn() if isinstance(value, ForwardReference) else value


def token_name(token: Any) -> str:
    """Name a token the way error messages show it: class name, string as written, else str."""
    if isinstance(token, ForwardReference):
        try:
            token = token.forward_fn()
        except Exception:  # a broken forward_ref must not hide the error being reported
            return repr(token)
    if isinstance(token, str):
        return token
    name = getattr(token, "__name__", None)
    if isinstance(name, str) and callable(token):
        return name
    return str(token)


REQUEST = InjectionToken("REQUEST")
"""Injects the request registered with ``register_request_by_context_id`` (request scope)."""

INQUIRER = InjectionToken("INQUIRER")
"""In a transient provider: the class of the provider (or controller) it is being built for."""
