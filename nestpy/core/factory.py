"""``NestFactory`` and the bootstrap pipeline: scan, encapsulate, link, compile, instantiate."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import Mapping
from typing import Any

from dependency_injector import providers

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.tokens import INQUIRER, REQUEST, Token
from nestpy.core.application_context import NestApplicationContext
from nestpy.core.compiler import compile_records, wire_overridden_base
from nestpy.core.container import ModulesContainer
from nestpy.core.dependencies import DependencyReader
from nestpy.core.dependency_graph import analyse, link
from nestpy.core.encapsulation import Encapsulation
from nestpy.core.injectables import register_injectables
from nestpy.core.injector import Injector
from nestpy.core.instance_loader import load_instances
from nestpy.core.lazy_loader import LazyModuleLoader
from nestpy.core.module_node import ModuleNode, ProviderRecord
from nestpy.core.module_ref import ModuleRef
from nestpy.core.reflector import Reflector
from nestpy.core.request_context import inquirer_record, request_record
from nestpy.core.scanner import Scanner
from nestpy.errors import NestpyError

logger = logging.getLogger("nestpy.core")


class NestFactory:
    """Creates applications from a root module."""

    @staticmethod
    async def create_application_context(
        module: type[Any] | DynamicModule,
    ) -> NestApplicationContext:
        """Bootstrap ``module``: every DI error is raised here; init hooks have run on return."""
        app = NestApplicationContext(await bootstrap(module))
        return await app.init()


async def bootstrap(
    module: type[Any] | DynamicModule,
    *,
    provider_overrides: Mapping[Token, Provider] | None = None,
    module_overrides: Mapping[Any, Any] | None = None,
) -> Injector:
    """Build the application of ``module`` and instantiate its static providers (no hooks).

    The cyclic garbage collector is paused meanwhile: bootstrap allocates many long-lived
    objects and no garbage cycles, and the collector's passes over them cost about a third
    of the bootstrap time.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return await _bootstrap(module, provider_overrides, module_overrides)
    finally:
        if collecting:
            gc.enable()


async def _bootstrap(
    module: type[Any] | DynamicModule,
    provider_overrides: Mapping[Token, Provider] | None,
    module_overrides: Mapping[Any, Any] | None,
) -> Injector:
    scanner = Scanner(module_overrides=module_overrides, provider_overrides=provider_overrides)
    modules = scanner.scan(module)
    loader = LazyModuleLoader(module_overrides, provider_overrides)
    core = {
        REQUEST: request_record(),
        INQUIRER: inquirer_record(),
        Reflector: _value_record(Reflector, _REFLECTOR),
        LazyModuleLoader: _value_record(LazyModuleLoader, loader),
    }
    nodes = list(modules.nodes.values())
    refs, reader, order = wire(modules, nodes, core, provider_overrides or {})
    injector = Injector(modules, order, reader, core)
    for ref in refs:
        ref.bind(injector)
    loader.bind(injector)
    await load_instances(order)
    for node in nodes:
        logger.info("%s dependencies initialized", node.name)
    return injector


def wire(
    modules: ModulesContainer,
    nodes: list[ModuleNode],
    core: Mapping[Token, ProviderRecord],
    overrides: Mapping[Token, Provider],
) -> tuple[list[ModuleRef], DependencyReader, list[ProviderRecord]]:
    """Register, link, analyse and compile the records of ``nodes`` (new modules of
    ``modules``); returns their ``ModuleRef``s, the reader and the instantiation order."""
    register_injectables(nodes, overrides)
    refs = _add_module_refs(nodes)
    Encapsulation(modules, core).apply()
    reader = DependencyReader(lambda: _known_names(modules))
    records = [record for node in nodes for record in node.records()]
    for record in records:
        if record.node is not None and record.role != "core":
            link(record, record.node, reader)
    order = analyse(records)
    compile_records(order)  # the per-module containers are built when ModuleRef.container asks
    for record in order:
        if record.override is not None:
            _wire_base(record, reader)
    return refs, reader, order


def _wire_base(record: ProviderRecord, reader: DependencyReader) -> None:
    """Wire an overridden provider to its own dependencies when its module has them all."""
    node = record.node
    if node is None or record.spec.kind not in ("class", "factory"):
        return
    try:
        deps = reader.of(record.spec)
    except NestpyError:  # unreadable hints: the override stands alone
        return
    links = [node.lookup(dep.token) for dep in deps]
    for dep, target in zip(deps, links, strict=True):
        missing = target is None and not dep.optional
        if missing or target is record or (target is not None and target.provider is None):
            return
    wire_overridden_base(record, deps, links)


def _add_module_refs(nodes: list[ModuleNode]) -> list[ModuleRef]:
    refs = []
    for node in nodes:
        ref = ModuleRef(node)
        record = ProviderRecord(Provider(ModuleRef, use_value=ref), node, "core")
        node.providers = {ModuleRef: record, **node.providers}
        refs.append(ref)
    return refs


def _value_record(token: Token, value: Any) -> ProviderRecord:
    """A core provider visible in every module (``Reflector``, ``LazyModuleLoader``)."""
    record = ProviderRecord(Provider(token, use_value=value), None, "core")
    record.provider = providers.Object(value)
    record.instance = value
    return record


_REFLECTOR = Reflector()


def _known_names(modules: ModulesContainer) -> dict[str, Any]:
    """Class names known to the application, to resolve string hints of locally defined classes.

    Names shared by two different classes are left out rather than guessed.
    """
    names: dict[str, Any] = {}
    ambiguous: set[str] = set()
    for node in modules.nodes.values():
        candidates: list[Any] = [node.metatype]
        for record in node.records():
            candidates += [record.token, record.spec.use_class]
            if record.override is not None:
                candidates.append(record.override.use_class)
        for value in candidates:
            if inspect.isclass(value):
                known = names.setdefault(value.__name__, value)
                if known is not value:
                    ambiguous.add(value.__name__)
    for name in ambiguous:
        del names[name]
    return names
