"""The scanned form of one module and of each provider it registers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from nestpy.common.providers import Provider
from nestpy.common.tokens import Token

if TYPE_CHECKING:
    from dependency_injector import containers, providers

    from nestpy.core.dependencies import Dependency

Role = Literal["provider", "controller", "module", "core", "injectable"]


class ProviderRecord:
    """One token registered in one module: its spec, its links and its compiled provider.

    ``spec`` is what the module declared; ``override`` is a testing override of it. The
    ``provider`` is the dependency-injector provider every consumer references, so overriding
    it is seen everywhere.
    """

    __slots__ = (
        "cycle_target",
        "deps",
        "durable",
        "instance",
        "links",
        "node",
        "override",
        "provider",
        "request_scoped",
        "resource",
        "role",
        "shell",
        "shell_edges",
        "spec",
        "token",
        "transient",
    )

    def __init__(self, spec: Provider, node: ModuleNode | None, role: Role = "provider") -> None:
        self.token: Token = spec.token
        self.spec = spec
        self.node = node
        self.role: Role = role
        self.override: Provider | None = None
        self.deps: list[Dependency] = []
        self.links: list[ProviderRecord | None] = []
        self.shell_edges: set[int] = set()
        """Positions of the dependencies that close a ``forward_ref`` cycle (back edges)."""
        self.cycle_target = False
        """A back edge points here: consumers on it get ``shell``, the instance before init."""
        self.shell: providers.Singleton[Any] | None = None
        """Allocates that instance (``cls.__new__``); the record's provider initialises it."""
        self.request_scoped = False
        self.durable = False
        """Request-scoped and shared by the messages of one durable sub-tree (one tenant)."""
        self.transient = False
        self.provider: providers.Provider[Any] | None = None
        self.instance: Any = None
        self.resource: providers.Resource[Any] | None = None
        """The dependency-injector ``Resource`` of a static resource factory (closed at close)."""

    @property
    def active(self) -> Provider:
        """The spec in force: the override when there is one."""
        return self.override or self.spec

    @property
    def is_static(self) -> bool:
        """One shared instance built at bootstrap (neither transient nor request-scoped)."""
        return not self.request_scoped and not self.transient

    @property
    def module_name(self) -> str | None:
        """The name of the module that registers this token, if any."""
        return self.node.name if self.node is not None else None

    def __repr__(self) -> str:
        return f"<ProviderRecord {self.token!r} in {self.module_name}>"


class ModuleNode:
    """One module of the application: static class or dynamic module, deduplicated by ``key``."""

    __slots__ = (
        "container",
        "controllers",
        "distance",
        "exports",
        "hook_groups",
        "imported",
        "imports",
        "injectables",
        "instance_record",
        "is_global",
        "key",
        "metatype",
        "providers",
    )

    def __init__(self, metatype: type[Any], key: Token, is_global: bool) -> None:
        self.metatype = metatype
        self.key = key
        self.is_global = is_global
        self.imports: list[ModuleNode] = []
        self.providers: dict[Token, ProviderRecord] = {}
        self.controllers: dict[Token, ProviderRecord] = {}
        self.injectables: dict[Token, ProviderRecord] = {}
        """Enhancer classes named by this module's controllers (guards, pipes...), by class."""
        self.exports: list[Any] = []
        self.imported: dict[Token, ProviderRecord] = {}
        self.distance = 0
        self.hook_groups: list[list[ProviderRecord]] | None = None
        """Static records by injection level, computed when the first hook runs."""
        self.instance_record = ProviderRecord(Provider.of_class(metatype), self, "module")
        self.container: containers.DynamicContainer | None = None

    @property
    def name(self) -> str:
        """The module class name, as error messages show it."""
        return self.metatype.__name__

    def lookup(self, token: Token) -> ProviderRecord | None:
        """What ``token`` means inside this module: own providers first, then imports."""
        return self.providers.get(token) or self.imported.get(token)

    def records(self) -> list[ProviderRecord]:
        """Every record this module registers: controllers, providers, enhancers, the module."""
        return [
            *self.controllers.values(),
            *self.providers.values(),
            *self.injectables.values(),
            self.instance_record,
        ]

    def __repr__(self) -> str:
        return f"<ModuleNode {self.name}>"
