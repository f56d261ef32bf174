"""``@Module``, ``@Injectable``, ``@Controller``, ``@Global`` and ``Inject``: metadata only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from nestpy.common.metadata import (
    GLOBAL_METADATA,
    INJECTABLE_METADATA,
    MODULE_METADATA,
    InjectableMetadata,
    ModuleMetadata,
)
from nestpy.common.providers import UNSET
from nestpy.common.scopes import Scope
from nestpy.common.tokens import Token

C = TypeVar("C", bound=type[Any])


def Module(
    *,
    imports: Sequence[Any] = (),
    providers: Sequence[Any] = (),
    controllers: Sequence[Any] = (),
    exports: Sequence[Any] = (),
) -> Callable[[C], C]:
    """Declare a module: what it imports, provides, exposes as controllers and exports.

    >>> @Module(imports=[DataModule], providers=[Service], exports=[Service])
    ... class AppModule: ...
    """
    metadata = ModuleMetadata(tuple(imports), tuple(providers), tuple(controllers), tuple(exports))

    def decorate(cls: C) -> C:
        setattr(cls, MODULE_METADATA, metadata)
        return cls

    return decorate


def Injectable(*, scope: Scope = Scope.DEFAULT, durable: bool | None = None) -> Callable[[C], C]:
    """Mark a class as a provider; ``scope`` is its default scope (``Scope.DEFAULT``).

    ``durable=True`` (with ``Scope.REQUEST``) shares instances between the messages a
    ``ContextIdStrategy`` maps to one sub-tree (e.g. one per tenant).

    Constructor parameters are injected by type hint or by ``Annotated[T, Inject(token)]``.
    """
    metadata = InjectableMetadata(scope=scope, durable=durable)

    def decorate(cls: C) -> C:
        setattr(cls, INJECTABLE_METADATA, metadata)
        return cls

    return decorate


def Controller(
    prefix: str | None = None, *, scope: Scope = Scope.DEFAULT, durable: bool | None = None
) -> Callable[[C], C]:
    """Mark a class as a controller (listed in ``controllers=``); ``prefix`` is kept, not used."""
    metadata = InjectableMetadata(scope=scope, is_controller=True, prefix=prefix, durable=durable)

    def decorate(cls: C) -> C:
        setattr(cls, INJECTABLE_METADATA, metadata)
        return cls

    return decorate


def Global() -> Callable[[C], C]:
    """Make a module's exports visible in every module, without importing it."""

    def decorate(cls: C) -> C:
        setattr(cls, GLOBAL_METADATA, True)
        return cls

    return decorate


class Inject:
    """Choose the token of a constructor parameter: ``Annotated[str, Inject("DB_URL")]``.

    ``Inject(forward_ref(lambda: Other))`` breaks provider cycles; ``optional=True`` injects
    ``None`` when nothing provides the token (a parameter default makes it optional too).
    Items of a factory's ``inject=[...]`` list may be ``Inject(token, optional=True)`` as well.
    """

    __slots__ = ("optional", "token")

    def __init__(self, token: Token = UNSET, *, optional: bool = False) -> None:
        self.token = token
        self.optional = optional

    def __repr__(self) -> str:
        return f"Inject({self.token!r}, optional={self.optional})"
