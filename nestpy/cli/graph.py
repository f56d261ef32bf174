"""``nestpy graph``: the module graph of an application, without instantiating anything."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.scopes import Scope
from nestpy.common.tokens import token_name
from nestpy.core.module_node import ModuleNode
from nestpy.core.scanner import Scanner
from nestpy.microservices.decorators import pattern_metadata


@dataclass
class HandlerInfo:
    """One pattern of one handler method."""

    kind: str
    """``MessagePattern`` or ``EventPattern``."""
    pattern: str
    method: str
    qos: int | None
    """The pattern's own QoS; ``None`` means the transport's default."""
    transport: str | None = None


@dataclass
class ControllerInfo:
    """A controller and its handlers."""

    name: str
    handlers: list[HandlerInfo] = field(default_factory=list)


@dataclass
class ModuleInfo:
    """One module of the graph, as scanned."""

    name: str
    is_global: bool
    dynamic: bool
    imports: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    controllers: list[ControllerInfo] = field(default_factory=list)


def _provider_label(spec: Provider) -> str:
    label = token_name(spec.token)
    if spec.kind == "class" and spec.use_class is not spec.token:
        label += f" (class {token_name(spec.use_class)})"
    elif spec.kind == "existing":
        label += f" (alias of {token_name(spec.use_existing)})"
    elif spec.kind in ("value", "factory"):
        label += f" ({spec.kind})"
    scope = spec.declared_scope()
    if scope is not Scope.DEFAULT:
        label += f" [{scope.name.lower()}]"
    return label


def _export_label(entry: Any) -> str:
    if isinstance(entry, DynamicModule):
        return entry.module.__name__
    return token_name(entry)


def _controller(cls: type[Any]) -> ControllerInfo:
    info = ControllerInfo(cls.__name__)
    # The order bind_handlers registers them in: the class's own methods in definition order,
    # then inherited ones (it decides which of two overlapping wildcards wins).
    names = dict.fromkeys(name for klass in cls.__mro__ for name in vars(klass))
    for name in names:
        member = inspect.getattr_static(cls, name)
        if not inspect.isfunction(member):
            continue
        for meta in pattern_metadata(member):
            qos = meta.extras.get("qos")
            for route in meta.routes:
                info.handlers.append(
                    HandlerInfo(
                        kind="EventPattern" if meta.is_event else "MessagePattern",
                        pattern=route,
                        method=name,
                        qos=qos if isinstance(qos, int) else None,
                        transport=meta.transport.name if meta.transport is not None else None,
                    )
                )
    return info


def _module(node: ModuleNode, dynamic: bool) -> ModuleInfo:
    return ModuleInfo(
        name=node.name,
        is_global=node.is_global,
        dynamic=dynamic,
        imports=[child.name for child in node.imports],
        providers=[_provider_label(record.spec) for record in node.providers.values()],
        exports=[_export_label(entry) for entry in node.exports],
        controllers=[_controller(record.token) for record in node.controllers.values()],  # type: ignore[arg-type]
    )


def module_graph(module: type[Any] | DynamicModule) -> list[ModuleInfo]:
    """Every module reachable from ``module``, in scan order (the root first)."""
    container = Scanner().scan(module)
    return [_module(node, node.key is not node.metatype) for node in container.nodes.values()]


def render(modules: list[ModuleInfo]) -> str:
    """The graph as indented text, one block per module."""
    lines: list[str] = []
    for info in modules:
        flags = [flag for flag, on in (("global", info.is_global), ("dynamic", info.dynamic)) if on]
        lines.append(info.name + (f" [{', '.join(flags)}]" if flags else ""))
        for title, items in (
            ("imports", info.imports),
            ("providers", info.providers),
            ("exports", info.exports),
        ):
            if items:
                lines.append(f"  {title}: {', '.join(items)}")
        if info.controllers:
            lines.append("  controllers:")
        for controller in info.controllers:
            lines.append(f"    {controller.name}")
            for handler in controller.handlers:
                qos = "default" if handler.qos is None else str(handler.qos)
                only = f", {handler.transport} only" if handler.transport else ""
                lines.append(
                    f"      {handler.kind} {handler.pattern!r} -> {handler.method}()"
                    f" (QoS {qos}{only})"
                )
    return "\n".join(lines)
