"""Nest's visibility rules: what each module can inject, and export validation.

A module sees (1) its own providers, (2) what its imported modules export, where an exported
module re-exports everything that module exports, and (3) the exports of global modules. The
first import that exports a token wins, as in Nest's lookup.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.tokens import Token, unwrap_forward
from nestpy.core.container import ModulesContainer
from nestpy.core.errors.exceptions import UnknownExportError
from nestpy.core.module_node import ModuleNode, ProviderRecord

Exports = dict[Token, ProviderRecord]


class Encapsulation:
    """Computes ``node.imported`` for every module; raises ``UnknownExportError`` on bad exports."""

    def __init__(self, container: ModulesContainer, core: Mapping[Token, ProviderRecord]) -> None:
        self._container = container
        self._core = core
        self._exports: dict[int, Exports] = {}
        self._in_progress: set[int] = set()

    def apply(self) -> None:
        """Validate every export, then fill each module's view of its imports and globals."""
        for node in self._container.nodes.values():
            self._validate_exports(node)
        globals_ = self._container.globals
        for node in self._container.nodes.values():
            imported: Exports = {}
            for source in [*node.imports, *(g for g in globals_ if g is not node)]:
                for token, record in self.exported(source).items():
                    imported.setdefault(token, record)
            for token, record in self._core.items():
                imported.setdefault(token, record)
            node.imported = imported

    def _validate_exports(self, node: ModuleNode) -> None:
        imported_types = {child.metatype for child in node.imports}
        for item in node.exports:
            token = _export_token(item)
            if token in node.providers:
                continue
            if inspect.isclass(token) and token in imported_types:
                continue
            raise UnknownExportError(token=token, module=node.name)

    def exported(self, node: ModuleNode) -> Exports:
        """Every token ``node`` exports, re-exported modules included."""
        cached = self._exports.get(id(node))
        if cached is not None:
            return cached
        if id(node) in self._in_progress:  # two modules re-exporting each other
            return {}
        self._in_progress.add(id(node))
        result: Exports = {}
        for item in node.exports:
            token = _export_token(item)
            own = node.providers.get(token)
            if own is not None:
                result.setdefault(token, own)
                continue
            for child in node.imports:
                if child.metatype is token:
                    for key, record in self.exported(child).items():
                        result.setdefault(key, record)
        self._in_progress.discard(id(node))
        self._exports[id(node)] = result
        return result


def _export_token(item: object) -> Token:
    item = unwrap_forward(item)
    if isinstance(item, DynamicModule):
        return item.module
    if isinstance(item, Provider):  # Nest accepts the provider object itself in exports
        return item.token
    return item
