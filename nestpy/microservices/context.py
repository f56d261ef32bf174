"""The context a handler receives with ``@Ctx()``, and the request object of request scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class BaseRpcContext:
    """Transport-specific details of one incoming message (Nest's ``BaseRpcContext``)."""

    __slots__ = ("args",)

    def __init__(self, *args: Any) -> None:
        self.args = args

    def get_args(self) -> tuple[Any, ...]:
        """All the context's values."""
        return self.args

    def get_arg_by_index(self, index: int) -> Any:
        """One of the context's values, or None when there is no such index."""
        return self.args[index] if 0 <= index < len(self.args) else None


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What ``Inject(CONTEXT)`` gives a request-scoped provider: the message being handled."""

    pattern: Any
    data: Any
    context: BaseRpcContext | None = None
