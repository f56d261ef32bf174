"""Durable providers: ``ContextIdStrategy`` maps messages to shared sub-trees (e.g. tenants).

>>> class TenantStrategy:
...     def attach(self, context_id, request):
...         tenant = tenants.setdefault(request.data["tenant"], ContextIdFactory.create())
...         return AttachedContext(
...             resolve=lambda info: tenant if info.is_tree_durable else context_id,
...             payload={"tenant": request.data["tenant"]},
...         )
>>> ContextIdFactory.apply(TenantStrategy())

Providers declared ``durable=True`` (``Scope.REQUEST``), and those whose request-scoped
dependencies are all durable, are then built once per tenant instead of once per message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

_ids = itertools.count(1)


class ContextId:
    """A context id (Nest's ``{id}``): compared by identity, held weakly by the application."""

    __slots__ = ("__weakref__", "id")

    def __init__(self, id: int | None = None) -> None:
        self.id = next(_ids) if id is None else id

    def __repr__(self) -> str:
        return f"ContextId({self.id})"


@dataclass(frozen=True, slots=True)
class HostComponentInfo:
    """What a resolver learns about the tree being resolved."""

    token: Any
    is_tree_durable: bool


ContextIdResolverFn = Callable[[HostComponentInfo], Hashable]


@dataclass(frozen=True, slots=True)
class AttachedContext:
    """A strategy's answer: which context id each tree uses, and what ``REQUEST`` injects."""

    resolve: ContextIdResolverFn
    payload: Any = None


class ContextIdStrategy(Protocol):
    """Picks, for each message, the context id of its durable sub-tree."""

    def attach(
        self, context_id: Hashable, request: Any
    ) -> AttachedContext | ContextIdResolverFn | None:
        """A resolver (or ``AttachedContext``); None keeps one context per message."""


class ContextIdFactory:
    """Creates context ids and holds the application-wide ``ContextIdStrategy``."""

    strategy: ClassVar[ContextIdStrategy | None] = None

    @staticmethod
    def create() -> ContextId:
        """A new context id (for ``resolve(token, context_id)``)."""
        return ContextId()

    @classmethod
    def apply(cls, strategy: ContextIdStrategy | None) -> None:
        """Use ``strategy`` for every message from now on (None removes it)."""
        cls.strategy = strategy
