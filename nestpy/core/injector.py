"""Find a token's record and call its dependency-injector provider (``get``/``resolve``/``create``).

Nothing is resolved here: every instance comes from calling a compiled provider, inside the
context id's ``contextvars.Context`` for request-scoped ones.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from dependency_injector import providers

from nestpy.common.providers import Provider
from nestpy.common.tokens import Token
from nestpy.core.compiler import compile_records
from nestpy.core.container import ModulesContainer
from nestpy.core.dependencies import DependencyReader
from nestpy.core.dependency_graph import analyse, link
from nestpy.core.errors.exceptions import (
    InvalidClassError,
    InvalidClassScopeError,
    UnknownElementError,
)
from nestpy.core.module_node import ModuleNode, ProviderRecord
from nestpy.core.request_context import ContextStore, transient_in_context


def _scoped(token: Token) -> Callable[[], Any]:
    def fail() -> Any:
        raise InvalidClassScopeError(token=token)

    return fail


class Injector:
    """The compiled application: records by token and the request contexts."""

    def __init__(
        self,
        modules: ModulesContainer,
        order: list[ProviderRecord],
        reader: DependencyReader,
        core: Mapping[Token, ProviderRecord] | None = None,
    ) -> None:
        if modules.root is None:
            msg = "the modules container has no root module"
            raise ValueError(msg)
        self.modules = modules
        self.root: ModuleNode = modules.root
        self.order = order
        self.reader = reader
        self.core: dict[Token, ProviderRecord] = dict(core or {})
        """The records visible in every module (``REQUEST``, ``INQUIRER``, ``Reflector``...)."""
        self.contexts = ContextStore()
        self.records: dict[Token, ProviderRecord] = {}
        for node in reversed(modules.nodes.values()):  # the first registration wins...
            for record in node.records():
                if record.role != "injectable" or record.token not in self.records:
                    self.records[record.token] = record
        self.records.update(self.root.imported)  # ...except what the root module sees
        self.records.update(self.root.providers)
        self.records.update(self.root.controllers)
        self.getters = {token: _getter(record) for token, record in self.records.items()}
        own = {record.token: record for record in self.root.records()}
        self.root_getters = {token: _getter(record) for token, record in own.items()}

    def add_modules(
        self, nodes: list[ModuleNode], order: list[ProviderRecord], reader: DependencyReader
    ) -> None:
        """Take in lazily loaded modules: their records become findable (first one wins)."""
        self.order += [record for record in order if record not in self.order]
        self.reader = reader
        for node in nodes:
            for record in node.records():
                if record.token not in self.records:
                    self.records[record.token] = record
                    self.getters[record.token] = _getter(record)

    def find(self, token: Token, node: ModuleNode | None, *, strict: bool) -> ProviderRecord:
        """The record of ``token``: in ``node`` only when strict, else anywhere."""
        if strict:
            node = node or self.root
            record = node.providers.get(token) or node.controllers.get(token)
            if record is None and token is node.metatype:
                record = node.instance_record
        else:
            record = self.records.get(token)
        if record is None:
            raise UnknownElementError(token=token)
        return record

    def find_all(
        self, token: Token, node: ModuleNode | None, *, strict: bool
    ) -> list[ProviderRecord]:
        """Every record of ``token`` (``each=True``): in ``node`` when strict, else in every
        module, in scan order."""
        nodes = [node or self.root] if strict else list(self.modules.nodes.values())
        found = [
            record
            for candidate in nodes
            for record in (candidate.providers.get(token), candidate.controllers.get(token))
            if record is not None
        ]
        if not found:
            raise UnknownElementError(token=token)
        return found

    def get(self, record: ProviderRecord) -> Any:
        """The shared instance of a static record; scoped ones need ``resolve``."""
        if not record.is_static or record.provider is None:
            raise InvalidClassScopeError(token=record.token)
        return record.provider()

    async def resolve(self, record: ProviderRecord, context_id: Hashable | None) -> Any:
        """A request-scoped instance for ``context_id`` (a new context when ``None``)."""
        provider = record.provider
        if provider is None:
            raise UnknownElementError(token=record.token)
        if record.transient and context_id is not None:  # one per context id, as in Nest
            value = self.contexts.get(context_id).run(transient_in_context, record)
        elif not record.request_scoped:
            # transient: a new instance; static: the shared one (an awaitable only when an
            # async provider was rebuilt after bootstrap, e.g. after ``reset_override()``)
            value = provider()
        else:
            context = contextvars.Context() if context_id is None else self.contexts.get(context_id)
            value = context.run(provider)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def create(self, cls: type[Any], node: ModuleNode) -> Any:
        """Instantiate an unregistered class with dependencies seen from ``node``."""
        if not inspect.isclass(cls):
            raise InvalidClassError(value=cls)
        record = ProviderRecord(Provider(cls, use_class=cls), node)
        link(record, node, self.reader)
        analyse([record])
        record.transient = True  # a new instance on every create()
        compile_records([record])
        provider = record.provider
        if provider is None:
            raise InvalidClassError(value=cls)
        value = contextvars.Context().run(provider) if record.request_scoped else provider()
        if inspect.isawaitable(value):
            value = await value
        return value


def _getter(record: ProviderRecord) -> Callable[[], Any]:
    if record.is_static and isinstance(record.provider, providers.Provider):
        return record.provider
    return _scoped(record.token)
