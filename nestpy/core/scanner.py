"""Walk the ``@Module`` graph from the root into ``ModuleNode``s; nothing is instantiated here."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.metadata import (
    ModuleMetadata,
    get_injectable_metadata,
    get_module_metadata,
    is_global_module,
)
from nestpy.common.providers import Provider, as_provider
from nestpy.common.tokens import ForwardReference, Token
from nestpy.core.container import ModulesContainer
from nestpy.core.errors.exceptions import (
    InjectableInImportsError,
    InvalidModuleError,
    InvalidProviderError,
    UndefinedForwardRefError,
    UndefinedModuleError,
)
from nestpy.core.module_node import ModuleNode, ProviderRecord, Role
from nestpy.core.module_token import module_key

_EMPTY = ModuleMetadata()


class ControllerRegistrationWarning(UserWarning):
    """A class in ``controllers`` without ``@Controller()``, or a ``@Controller`` listed under
    ``providers`` (whose handlers are then never registered)."""


def _check_role(module: str, spec: Provider, role: Role) -> None:
    cls = spec.use_class if spec.kind == "class" else None
    if not inspect.isclass(cls):
        return
    metadata = get_injectable_metadata(cls)
    is_controller = metadata is not None and metadata.is_controller
    if role == "controller" and not is_controller:
        msg = (
            f"{module} lists {cls.__name__} in controllers, but {cls.__name__} is not decorated "
            "with @Controller(). Add @Controller() to the class (nestpy registers it anyway; "
            "Nest would not inject its constructor)."
        )
    elif role == "provider" and is_controller:
        msg = (
            f"{module} lists the controller {cls.__name__} in providers: its message handlers "
            f"are only registered from controllers=[...]. Move {cls.__name__} to controllers, "
            "or use @Injectable() if it is a provider."
        )
    else:
        return
    warnings.warn(msg, ControllerRegistrationWarning, stacklevel=2)


class Scanner:
    """Builds a ``ModulesContainer``; applies testing overrides of modules and providers."""

    def __init__(
        self,
        *,
        module_overrides: Mapping[Any, Any] | None = None,
        provider_overrides: Mapping[Token, Provider] | None = None,
    ) -> None:
        self._module_overrides = dict(module_overrides or {})
        self._provider_overrides = dict(provider_overrides or {})
        self.container = ModulesContainer()

    def scan(self, root: Any) -> ModulesContainer:
        """Scan ``root`` (a module class or ``DynamicModule``) and everything it imports."""
        root = self._replace(root)
        if not _is_module_definition(root):
            raise InvalidModuleError.unexpected(
                parent="application", index=0, value=root, scope=["application"]
            )
        self._add(root, [])
        self.container.calculate_distances()
        return self.container

    def _replace(self, definition: Any) -> Any:
        try:
            return self._module_overrides.get(definition, definition)
        except TypeError:  # unhashable import entries are reported by _add
            return definition

    def _add(self, definition: Any, scope: list[str]) -> ModuleNode:
        if isinstance(definition, DynamicModule):
            metatype, dynamic = definition.module, definition
        else:
            metatype, dynamic = definition, None
        key = module_key(metatype, dynamic)
        existing = self.container.nodes.get(key)
        if existing is not None:
            return existing
        static = get_module_metadata(metatype) or _EMPTY
        is_global = is_global_module(metatype) or (dynamic is not None and dynamic.global_)
        node = ModuleNode(metatype, key, is_global)
        self.container.add(node)
        scope = [*scope, metatype.__name__]
        extra = dynamic or DynamicModule(module=metatype)
        self._register_providers(node, [*static.providers, *extra.providers], "providers")
        self._register_providers(node, [*static.controllers, *extra.controllers], "controllers")
        node.exports = [*static.exports, *extra.exports]
        for index, entry in enumerate([*static.imports, *extra.imports]):
            child = self._add(self._import_definition(entry, index, scope), scope)
            if child is not node and child not in node.imports:
                node.imports.append(child)
        return node

    def _import_definition(self, entry: Any, index: int, scope: list[str]) -> Any:
        parent = scope[-1]
        if entry is None:
            raise UndefinedModuleError(parent=parent, index=index, scope=scope)
        if isinstance(entry, ForwardReference):
            entry = entry.forward_fn()
            if entry is None:
                raise UndefinedForwardRefError(scope=scope)
        entry = self._replace(entry)
        if inspect.isclass(entry) and get_injectable_metadata(entry) is not None:
            raise InjectableInImportsError(value=entry, scope=scope)
        if not _is_module_definition(entry):
            raise InvalidModuleError.unexpected(
                parent=parent, index=index, value=entry, scope=scope
            )
        return entry

    def _register_providers(self, node: ModuleNode, entries: list[Any], array: str) -> None:
        target = node.providers if array == "providers" else node.controllers
        role: Role = "provider" if array == "providers" else "controller"
        for index, entry in enumerate(entries):
            spec = as_provider(entry)
            if spec is None or (role == "controller" and spec.kind != "class"):
                raise InvalidProviderError(entry=(node.name, array, index, entry))
            _check_role(node.name, spec, role)
            record = ProviderRecord(spec, node, role)
            record.override = self._provider_overrides.get(spec.token)
            target.pop(spec.token, None)  # the last registration wins, in its position
            target[spec.token] = record


def _is_module_definition(value: Any) -> bool:
    if isinstance(value, DynamicModule):
        return inspect.isclass(value.module)
    return inspect.isclass(value) and get_module_metadata(value) is not None
