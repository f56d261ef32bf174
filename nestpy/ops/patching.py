"""Wrap a class's method and undo it later, safely when several wrappers stack.

Metrics, JSON message logs and tracing each wrap the same methods; each can be removed in any
order. A wrapper still under another one when removed turns into a pass-through instead of
unwrapping its successor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["Patch"]


class Patch:
    """``owner.name`` replaced by ``make(original)`` until ``remove()``."""

    def __init__(self, owner: type[Any], name: str, make: Callable[[Any], Any]) -> None:
        self.owner = owner
        self.name = name
        self.original = original = owner.__dict__[name]
        self.active = True
        wrapper = make(original)

        @functools.wraps(original)
        def outer(*args: Any, **kwargs: Any) -> Any:
            return (wrapper if self.active else original)(*args, **kwargs)

        self.outer = outer
        setattr(owner, name, outer)

    def remove(self) -> None:
        """Restore the original when this wrapper is on top; else become a pass-through."""
        self.active = False
        if self.owner.__dict__.get(self.name) is self.outer:
            setattr(self.owner, self.name, self.original)
