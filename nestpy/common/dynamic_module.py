"""``DynamicModule``: what a ``for_root()`` / ``register()`` class method returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False, kw_only=True)
class DynamicModule:
    """A module configured at import time; its fields extend the ``@Module`` metadata of ``module``.

    >>> @Module()
    ... class ConfigModule:
    ...     @classmethod
    ...     def for_root(cls, path: str) -> DynamicModule:
    ...         return DynamicModule(module=cls, providers=[Provider("PATH", use_value=path)],
    ...                              exports=["PATH"], global_=True)

    Two dynamic modules with the same class and equal metadata are one module.
    """

    module: type[Any]
    imports: Sequence[Any] = ()
    providers: Sequence[Any] = ()
    controllers: Sequence[Any] = ()
    exports: Sequence[Any] = ()
    global_: bool = False

    def __post_init__(self) -> None:
        for name in ("imports", "providers", "controllers", "exports"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
