"""Metadata attached to classes by the decorators, and the helpers that read it back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nestpy.common.scopes import Scope

MODULE_METADATA = "__nestpy_module__"
INJECTABLE_METADATA = "__nestpy_injectable__"
GLOBAL_METADATA = "__nestpy_global__"


@dataclass(frozen=True, slots=True)
class ModuleMetadata:
    """What ``@Module(...)`` declares."""

    imports: tuple[Any, ...] = ()
    providers: tuple[Any, ...] = ()
    controllers: tuple[Any, ...] = ()
    exports: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class InjectableMetadata:
    """What ``@Injectable(...)`` or ``@Controller(...)`` declares."""

    scope: Scope = Scope.DEFAULT
    is_controller: bool = False
    prefix: str | None = None
    durable: bool | None = None


def get_module_metadata(cls: Any) -> ModuleMetadata | None:
    """The ``@Module`` metadata declared on ``cls`` itself (not inherited), if any."""
    value = getattr(cls, "__dict__", {}).get(MODULE_METADATA)
    return value if isinstance(value, ModuleMetadata) else None


def get_injectable_metadata(cls: Any) -> InjectableMetadata | None:
    """The ``@Injectable``/``@Controller`` metadata of ``cls`` (inherited by subclasses)."""
    value = getattr(cls, INJECTABLE_METADATA, None)
    return value if isinstance(value, InjectableMetadata) else None


def is_global_module(cls: Any) -> bool:
    """True when ``cls`` is decorated with ``@Global()``."""
    return bool(getattr(cls, "__dict__", {}).get(GLOBAL_METADATA, False))
