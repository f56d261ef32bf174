"""``ModuleRef``: inject it to look providers up at runtime, from the injecting module."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from nestpy.common.scopes import Scope
from nestpy.common.tokens import Token
from nestpy.core.module_node import ModuleNode

if TYPE_CHECKING:
    from dependency_injector import containers

    from nestpy.core.injector import Injector

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IntrospectionResult:
    """What ``ModuleRef.introspect(token)`` says of a provider."""

    scope: Scope


class ModuleRef:
    """The module that injects it: ``get`` static providers, ``resolve`` scoped ones, ``create``.

    >>> @Injectable()
    ... class Plugins:
    ...     def __init__(self, module_ref: ModuleRef) -> None:
    ...         self.repo = module_ref.get(Repo)                # this module's provider
    ...         self.clock = module_ref.get("CLOCK", strict=False)   # anywhere in the app
    """

    def __init__(self, node: ModuleNode) -> None:
        self._node = node
        self._injector: Injector | None = None

    def bind(self, injector: Injector) -> None:
        """Attach the compiled application (done once, at bootstrap)."""
        self._injector = injector

    @property
    def injector(self) -> Injector:
        """The compiled application this module belongs to."""
        if self._injector is None:
            msg = "ModuleRef is used before the application finished bootstrapping"
            raise RuntimeError(msg)
        return self._injector

    @property
    def module(self) -> type[Any]:
        """The module class."""
        return self._node.metatype

    @property
    def container(self) -> containers.DynamicContainer:
        """The module's dependency-injector container (built on first access)."""
        if self._injector is None:
            msg = "ModuleRef is used before the application finished bootstrapping"
            raise RuntimeError(msg)
        if self._node.container is None:
            from nestpy.core.compiler import build_containers

            build_containers([self._node])
        assert self._node.container is not None
        return self._node.container

    @overload
    def get(self, token: type[T], *, strict: bool = True, each: Literal[False] = False) -> T: ...
    @overload
    def get(self, token: Token, *, strict: bool = True, each: Literal[True]) -> list[Any]: ...
    @overload
    def get(self, token: Token, *, strict: bool = True, each: bool = False) -> Any: ...
    def get(self, token: Token, *, strict: bool = True, each: bool = False) -> Any:
        """A static instance: from this module (``strict=True``) or from anywhere.

        ``each=True`` returns the instances of every provider registered under ``token``.
        """
        injector = self.injector
        if each:
            return [injector.get(r) for r in injector.find_all(token, self._node, strict=strict)]
        return injector.get(injector.find(token, self._node, strict=strict))

    @overload
    async def resolve(
        self,
        token: type[T],
        context_id: Hashable | None = None,
        *,
        strict: bool = True,
        each: Literal[False] = False,
    ) -> T: ...
    @overload
    async def resolve(
        self,
        token: Token,
        context_id: Hashable | None = None,
        *,
        strict: bool = True,
        each: bool = False,
    ) -> Any: ...
    async def resolve(
        self,
        token: Token,
        context_id: Hashable | None = None,
        *,
        strict: bool = True,
        each: bool = False,
    ) -> Any:
        """A scoped instance: the same for the same ``context_id``, new without one."""
        injector = self.injector
        if each:
            if context_id is None:
                context_id = object()
            records = injector.find_all(token, self._node, strict=strict)
            return [await injector.resolve(record, context_id) for record in records]
        return await injector.resolve(injector.find(token, self._node, strict=strict), context_id)

    def introspect(self, token: Token) -> IntrospectionResult:
        """How ``token`` is provided: ``introspect(Service).scope`` is its (effective) scope."""
        record = self.injector.find(token, self._node, strict=False)
        if record.transient:
            return IntrospectionResult(Scope.TRANSIENT)
        return IntrospectionResult(Scope.REQUEST if record.request_scoped else Scope.DEFAULT)

    async def create(self, cls: type[T]) -> T:
        """Instantiate ``cls`` (not a registered provider) with dependencies seen from here."""
        result: T = await self.injector.create(cls, self._node)
        return result

    def register_request_by_context_id(self, request: Any, context_id: Hashable) -> None:
        """Make ``REQUEST`` inject ``request`` in providers resolved with ``context_id``."""
        self.injector.contexts.register_request(request, context_id)

    def __repr__(self) -> str:
        return f"<ModuleRef {self._node.name}>"
