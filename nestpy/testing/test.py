"""``Test.create_testing_module(...)``: build a module for tests, with overridden providers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nestpy.common.decorators import Module
from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.tokens import Token
from nestpy.core.factory import bootstrap
from nestpy.core.scanner import Scanner
from nestpy.microservices.clients_module import ClientsModule
from nestpy.testing.in_memory import InMemoryBroker, InMemoryClient, InMemoryOptions
from nestpy.testing.testing_module import TestingModule


class Test:
    """Entry point of the testing utilities (Nest's ``Test``)."""

    __test__ = False  # not a pytest test class

    @staticmethod
    def create_testing_module(
        *,
        imports: Sequence[Any] = (),
        providers: Sequence[Any] = (),
        controllers: Sequence[Any] = (),
        exports: Sequence[Any] = (),
    ) -> TestingModuleBuilder:
        """Start a testing module with this metadata; finish with ``await ....compile()``.

        >>> module = await (Test.create_testing_module(providers=[Service, Repo])
        ...                 .override_provider(Repo).use_value(FakeRepo())
        ...                 .compile())
        >>> module.get(Service).repo   # the FakeRepo
        """
        root = type("RootTestModule", (), {"__module__": __name__})
        root = Module(
            imports=imports, providers=providers, controllers=controllers, exports=exports
        )(root)
        return TestingModuleBuilder(root)


class TestingModuleBuilder:
    """Collects overrides; ``compile()`` bootstraps the module with them."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: type[Any]) -> None:
        self._root = root
        self._providers: dict[Token, Provider] = {}
        self._modules: dict[Any, Any] = {}
        self._in_memory_broker: InMemoryBroker | None = None
        self._on_compile: list[Callable[[TestingModule], None]] = []

    def override_provider(self, token: Token) -> OverrideBy:
        """Replace ``token`` wherever it is provided: ``.use_value/.use_class/.use_factory``."""
        return OverrideBy(self, token)

    def override_guard(self, guard: type[Any]) -> OverrideBy:
        """Replace a guard class wherever it is used (``UseGuards``, ``APP_GUARD`` use_class)."""
        return OverrideBy(self, guard)

    def override_interceptor(self, interceptor: type[Any]) -> OverrideBy:
        """Replace an interceptor class wherever it is used, ``APP_INTERCEPTOR`` included."""
        return OverrideBy(self, interceptor)

    def override_filter(self, exception_filter: type[Any]) -> OverrideBy:
        """Replace an exception filter class wherever it is used, ``APP_FILTER`` included."""
        return OverrideBy(self, exception_filter)

    def override_pipe(self, pipe: type[Any]) -> OverrideBy:
        """Replace a pipe class wherever it is used (``UsePipes``, ``Payload(key, Pipe)``,
        ``APP_PIPE`` use_class)."""
        return OverrideBy(self, pipe)

    def override_module(self, module: type[Any] | DynamicModule) -> OverrideModuleBy:
        """Replace an imported module (the same class, or the same ``DynamicModule`` object)."""
        return OverrideModuleBy(self, module)

    def use_in_memory_transport(self, broker: InMemoryBroker | None = None) -> TestingModuleBuilder:
        """Replace every ``ClientsModule`` client (any transport) with an ``InMemoryClient``.

        The clients and ``TestingModule.create_microservice()`` share ``broker`` (default: a
        new broker private to this module), so a module written for ``Transport.MQTT`` is
        tested without a broker. An explicit ``override_provider`` of a client wins.

        >>> module = await (Test.create_testing_module(imports=[AppModule])
        ...                 .use_in_memory_transport().compile())
        >>> app = await module.create_microservice()
        >>> await module.get("MATH_SERVICE").send("sum", [1, 2])
        3
        """
        self._in_memory_broker = broker or InMemoryBroker()
        return self

    def _set_provider(self, provider: Provider) -> TestingModuleBuilder:
        self._providers[provider.token] = provider
        return self

    def _set_module(self, module: Any, replacement: Any) -> TestingModuleBuilder:
        self._modules[module] = replacement
        return self

    async def compile(self) -> TestingModule:
        """Bootstrap: overrides are installed with dependency-injector's ``override()``."""
        providers = dict(self._providers)
        broker = self._in_memory_broker
        if broker is not None:
            for token in self._client_tokens():
                providers.setdefault(token, _in_memory_client_provider(token, broker))
        injector = await bootstrap(
            self._root, provider_overrides=providers, module_overrides=self._modules
        )
        module = TestingModule(injector)
        module._in_memory_broker = broker
        for callback in self._on_compile:
            callback(module)
        return await module.init()

    def _client_tokens(self) -> list[Token]:
        """The tokens of every client registered through ``ClientsModule`` in the graph."""
        modules = Scanner(module_overrides=self._modules).scan(self._root)
        return [
            token
            for node in modules.nodes.values()
            if node.metatype is ClientsModule
            for token in node.exports
        ]


def _in_memory_client_provider(token: Token, broker: InMemoryBroker) -> Provider:
    return Provider(token, use_factory=lambda: InMemoryClient(InMemoryOptions(broker=broker)))


class OverrideBy:
    """The second half of ``override_provider(token)``."""

    def __init__(self, builder: TestingModuleBuilder, token: Token) -> None:
        self._builder = builder
        self._token = token

    def use_value(self, value: Any) -> TestingModuleBuilder:
        """Inject ``value`` instead."""
        return self._builder._set_provider(Provider(self._token, use_value=value))

    def use_class(self, cls: type[Any]) -> TestingModuleBuilder:
        """Instantiate ``cls`` instead (its dependencies are resolved in the same module)."""
        return self._builder._set_provider(Provider(self._token, use_class=cls))

    def use_factory(
        self, *, factory: Callable[..., Any], inject: Sequence[Any] = ()
    ) -> TestingModuleBuilder:
        """Call ``factory(*inject)`` instead (sync or async)."""
        provider = Provider(self._token, use_factory=factory, inject=inject)
        return self._builder._set_provider(provider)


class OverrideModuleBy:
    """The second half of ``override_module(module)``."""

    def __init__(self, builder: TestingModuleBuilder, module: Any) -> None:
        self._builder = builder
        self._module = module

    def use_module(self, replacement: type[Any] | DynamicModule) -> TestingModuleBuilder:
        """Import ``replacement`` wherever the original module is imported."""
        return self._builder._set_module(self._module, replacement)
