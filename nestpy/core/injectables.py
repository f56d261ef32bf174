"""Enhancers as providers: the classes named by ``UseGuards``/``UsePipes``/... and ``APP_*``.

Each enhancer class named by a module's controllers is registered in that module (Nest's
"injectables"): it is linked, compiled and instantiated like a provider, so it gets
constructor injection, its scope and lifecycle hooks. ``EnhancerSource`` then says how a
handler gets its instance:

| scope of the enhancer            | instance                                              |
|----------------------------------|-------------------------------------------------------|
| default                          | the module's singleton                                |
| transient                        | one per controller (built when the handlers are bound) |
| request (or depends on request)  | one per message, in the message's context id          |
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nestpy.common.enhancers import APP_ENHANCERS, AppEnhancerKey, enhancer_refs
from nestpy.common.providers import Provider
from nestpy.common.tokens import Token
from nestpy.core.container import ModulesContainer
from nestpy.core.module_node import ModuleNode, ProviderRecord

if TYPE_CHECKING:
    from nestpy.core.injector import Injector


def register_injectables(nodes: Iterable[ModuleNode], overrides: Mapping[Token, Provider]) -> None:
    """Register every enhancer class named by a controller in that controller's module.

    A class the module already provides is that provider. Testing overrides (by class) apply
    to these records and to ``APP_*`` providers whose ``use_class`` is the overridden class.
    """
    for node in nodes:
        for controller in node.controllers.values():
            for ref in enhancer_refs(controller.token):  # type: ignore[arg-type]
                if not inspect.isclass(ref) or ref in node.injectables:
                    continue
                if ref in node.providers:
                    continue
                record = ProviderRecord(Provider(ref, use_class=ref), node, "injectable")
                record.override = overrides.get(ref)
                node.injectables[ref] = record
        for record in node.providers.values():
            if isinstance(record.token, AppEnhancerKey) and record.override is None:
                target = record.spec.use_class
                if target is not None and target in overrides:
                    record.override = overrides[target]


def global_enhancer_records(modules: ModulesContainer, kind: Any) -> list[ProviderRecord]:
    """The ``APP_*`` providers of one kind (e.g. ``APP_GUARD``), in registration order."""
    if kind not in APP_ENHANCERS:
        msg = f"{kind!r} is not one of APP_GUARD, APP_INTERCEPTOR, APP_FILTER, APP_PIPE"
        raise ValueError(msg)
    return [
        record
        for node in modules.nodes.values()
        for record in node.providers.values()
        if isinstance(record.token, AppEnhancerKey) and record.token.kind is kind
    ]


class EnhancerSource:
    """How one handler gets one enhancer: ``instance`` when static, else ``await resolve(id)``."""

    __slots__ = ("_injector", "instance", "record", "request_scoped")

    def __init__(
        self, instance: Any, record: ProviderRecord | None = None, injector: Injector | None = None
    ) -> None:
        self.instance = instance
        self.record = record
        self._injector = injector
        self.request_scoped = record is not None and injector is not None
        """True when a new instance is needed for each message."""

    async def resolve(self, context_id: Hashable) -> Any:
        """The instance for one message (the static instance when not request-scoped)."""
        if self.record is None or self._injector is None:
            return self.instance
        return await self._injector.resolve(self.record, context_id)


def enhancer_source(
    injector: Injector, ref: Any, node: ModuleNode | None, *, per_message: bool = False
) -> EnhancerSource:
    """The source of ``ref`` (a class or an instance) for a controller of ``node``.

    ``per_message``: the controller is request-scoped, so a transient enhancer is built for
    each message too (Nest builds the controller's whole sub-tree per request).
    """
    if not inspect.isclass(ref):
        return EnhancerSource(ref)
    record = None
    if node is not None:
        record = node.injectables.get(ref) or node.providers.get(ref)
    if record is None or record.provider is None:
        return EnhancerSource(ref())  # not registered (e.g. no module): no dependencies
    return source_of_record(injector, record, per_message=per_message)


def source_of_record(
    injector: Injector, record: ProviderRecord, *, per_message: bool = False
) -> EnhancerSource:
    """A source for a registered enhancer record (a transient one is built here, once).

    A static one is read from its provider, not from the instance cached at bootstrap: an
    override installed on the container since then is what the handlers get.
    """
    if record.request_scoped or (per_message and record.transient):
        return EnhancerSource(None, record, injector)
    provider = record.provider
    if provider is None:
        return EnhancerSource(None)
    return EnhancerSource(provider())
