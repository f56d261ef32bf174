"""Compile linked records into dependency-injector providers, one container per module.

| record                         | dependency-injector provider                                |
|--------------------------------|-------------------------------------------------------------|
| ``Scope.DEFAULT`` class/factory| ``Singleton``                                               |
| ``Scope.TRANSIENT``            | ``Factory`` (each consumer's provider calls it once)        |
| request-scoped (or bubbled)    | ``ContextLocalSingleton`` (one per ``contextvars.Context``) |
| durable (request-scoped)       | that, called in the durable sub-tree's context              |
| ``use_value``                  | ``Object``                                                  |
| ``use_existing``               | the target's provider object, under a second token          |
| ``async def`` factory (static) | ``Singleton`` (awaited at bootstrap, then sync: see below)   |
| generator / context manager    | ``Resource``, shut down at close (request scope: per message) |
| ``forward_ref`` cycle target   | ``Singleton`` running ``__init__`` on its allocation, a       |
|                                | ``Singleton(cls.__new__, cls)`` the cycle's back edge injects |

Dependencies are passed as provider references, so an override of a provider is seen by
every consumer. A testing override is compiled like any provider and installed with
``provider.override(...)`` on the original, which is compiled without its dependencies (they
may be missing in a test) and given them afterwards when it can (``wire_overridden_base``).

An async provider switches dependency-injector's async mode on at its first call (it returns
an awaitable); the instance loader awaits it, dependencies first, then turns async mode off
(``settle``), so the cached instance is returned as is from then on.

dependency-injector has no cycle support (a ``Singleton`` caches its instance only once its
call returns), so a ``forward_ref`` cycle is closed as Nest closes it: the back edge gets the
target's allocated, not yet initialised, instance; the target's provider initialises that same
object.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from dependency_injector import containers, providers

from nestpy.common.enhancers import AppEnhancerKey
from nestpy.common.providers import UNSET, Provider
from nestpy.common.tokens import INQUIRER, token_name
from nestpy.core.dependencies import Dependency
from nestpy.core.errors.exceptions import AsyncTransientError
from nestpy.core.module_node import ModuleNode, ProviderRecord
from nestpy.core.request_context import in_durable_context
from nestpy.core.resources import (
    TransientResourceError,
    enter_in_context,
    is_resource_factory,
)

AnyProvider = providers.Provider[Any]


def initialize(instance: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``__init__`` on the instance a ``forward_ref`` cycle handed out before it was built."""
    type(instance).__init__(instance, *args, **kwargs)
    return instance


def settle(provider: AnyProvider) -> None:
    """Turn async mode off on an awaited provider (and its overrides): from now on a call
    returns the cached instance, not an awaitable of it."""
    current: AnyProvider | None = provider
    while current is not None:
        current.disable_async_mode()
        current = current.last_overriding


def compile_records(order: Iterable[ProviderRecord]) -> None:
    """Give every record its provider; ``order`` must list dependencies first."""
    for record in order:
        if record.provider is not None:  # core records come compiled
            continue
        if record.override is None:
            provider = _build(record, record.spec, wired=True)
        else:
            provider = _build(record, record.spec, wired=False)
            provider.override(_build(record, record.override, wired=True))
        if record.durable and not record.transient:
            provider = providers.Callable(in_durable_context, providers.Object(provider))
        record.provider = provider


def wire_overridden_base(
    record: ProviderRecord, deps: list[Dependency], links: list[ProviderRecord | None]
) -> None:
    """Give an overridden provider its own dependencies, so ``reset_override()`` restores a
    working provider (compiled first without them: in a test they may not exist)."""
    base = record.provider
    if not isinstance(
        base, providers.Factory | providers.Singleton | providers.ContextLocalSingleton
    ):
        return  # values, aliases, resources and durable wrappers keep their override only
    shadow = ProviderRecord(record.spec, record.node, record.role)
    shadow.deps, shadow.links = deps, links
    args, kwargs = _arguments(shadow)
    attributes = _pop_attributes(shadow, kwargs)
    base.add_args(*args)
    base.add_kwargs(**kwargs)
    if attributes:
        base.add_attributes(**attributes)


def build_containers(nodes: Iterable[ModuleNode]) -> None:
    """One ``DynamicContainer`` per module holding the providers it registers."""
    for node in nodes:
        container = containers.DynamicContainer()
        used: set[str] = set()
        container.set_providers(
            **{
                _attribute_name(record.token, used): record.provider
                for record in node.records()
                if record.provider is not None
            }
        )
        node.container = container


_RESERVED = frozenset(dir(containers.DynamicContainer))


def _attribute_name(token: Any, used: set[str]) -> str:
    if isinstance(token, AppEnhancerKey):
        token = token.kind  # APP_GUARD, then APP_GUARD_ for a second one
    name = token.__name__ if isinstance(token, type) else token if isinstance(token, str) else ""
    if not name.isidentifier():
        text = token_name(token)
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in text) or "provider"
    while name in used or name in _RESERVED:
        name += "_"
    used.add(name)
    return name


def _build(record: ProviderRecord, spec: Provider, *, wired: bool) -> AnyProvider:
    if spec.kind == "value":
        return providers.Object(spec.use_value)
    if spec.kind == "existing":
        target = record.links[0] if wired and record.links else None
        if target is None or target.provider is None:
            return providers.Object(None)
        return target.provider
    args, kwargs = _arguments(record) if wired else ([], {})
    attributes = _pop_attributes(record, kwargs)
    if spec.kind == "class":
        provides: Any = spec.use_class
        if wired and record.cycle_target:
            provides = initialize
            args.insert(0, _allocation(record))
    else:
        provides = spec.use_factory
        if is_resource_factory(provides):
            return _resource(record, provides, args, kwargs, wired=wired)
        if record.transient and inspect.iscoroutinefunction(provides):
            raise AsyncTransientError(token=record.token)
    provider = _provider_class(record)(provides, *args, **kwargs)
    if attributes:
        provider.add_attributes(**attributes)
    return provider


_ATTRIBUTE = "\0attr:"  # kwargs prefix that marks a property-injection value


def _pop_attributes(record: ProviderRecord, kwargs: dict[str, AnyProvider]) -> dict[str, Any]:
    if not kwargs:
        return {}
    names = [key for key in kwargs if key.startswith(_ATTRIBUTE)]
    return {key.removeprefix(_ATTRIBUTE): kwargs.pop(key) for key in names}


_Buildable = (
    providers.Factory[Any] | providers.Singleton[Any] | providers.ContextLocalSingleton[Any]
)


def _provider_class(record: ProviderRecord) -> Callable[[Any], _Buildable]:
    if record.transient:
        return providers.Factory
    if record.request_scoped:
        return providers.ContextLocalSingleton
    return providers.Singleton


def _resource(
    record: ProviderRecord,
    factory: Any,
    args: list[AnyProvider],
    kwargs: dict[str, AnyProvider],
    *,
    wired: bool,
) -> AnyProvider:
    if record.transient:
        raise TransientResourceError(record.token)
    if record.request_scoped:
        return providers.ContextLocalSingleton(enter_in_context, factory, *args, **kwargs)
    resource: providers.Resource[Any] = providers.Resource(factory, *args, **kwargs)
    if wired:
        record.resource = resource
    return resource


def _allocation(target: ProviderRecord) -> AnyProvider:
    """The provider of ``target``'s allocated instance, which a cycle's back edge injects."""
    if target.shell is None:
        cls = target.active.use_class  # a default-scope class provider (dependency_graph)
        target.shell = providers.Singleton(cls.__new__, cls)
    return target.shell


def _for_consumer(consumer: ProviderRecord, target: ProviderRecord) -> AnyProvider:
    """``target``'s provider, passing ``consumer``'s class as ``INQUIRER`` when it asks."""
    provider = target.provider
    assert provider is not None
    if not target.transient:
        return provider
    names = [d.keyword for d in target.deps if d.token is INQUIRER and d.keyword is not None]
    if not names:
        return provider
    inquirer = consumer.active.use_class or consumer.token
    return providers.Factory(provider, **dict.fromkeys(names, providers.Object(inquirer)))


def _arguments(record: ProviderRecord) -> tuple[list[AnyProvider], dict[str, AnyProvider]]:
    # Positional where possible: dependency-injector builds and calls those faster.
    args: list[AnyProvider] = []
    kwargs: dict[str, AnyProvider] = {}
    positional = True
    for position, (dep, target) in enumerate(zip(record.deps, record.links, strict=True)):
        value: AnyProvider
        if position in record.shell_edges and target is not None:
            value = _allocation(target)
        elif target is not None and target.provider is not None:
            value = _for_consumer(record, target)
        elif dep.keyword is not None and dep.default is not UNSET:
            positional = False
            continue  # missing optional argument: Python's default applies
        else:
            value = providers.Object(None if dep.default is UNSET else dep.default)
        if dep.attribute is not None:
            kwargs[_ATTRIBUTE + dep.attribute] = value
        elif dep.keyword is None or (positional and dep.positional and dep.token is not INQUIRER):
            args.append(value)
        else:
            positional = False  # INQUIRER stays a keyword: a consumer's edge passes it by name
            kwargs[dep.keyword] = value
    return args, kwargs
