"""``ClientsModule`` and ``ClientProxyFactory``: clients as injectable providers."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nestpy.common.decorators import Module
from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.transports import Transport, implementation


class ClientProxyFactory:
    """Creates the client of a transport (Nest's ``ClientProxyFactory``)."""

    @staticmethod
    def create(
        *,
        transport: Transport = Transport.MQTT,
        options: Any = None,
        custom_class: Callable[[Any], ClientProxy] | None = None,
    ) -> ClientProxy:
        """A new, not yet connected client; it connects at its first ``send``/``emit``."""
        if custom_class is not None:
            return custom_class(options)
        return implementation(transport).create_client(options)


@dataclass(frozen=True)
class ClientOptions:
    """One client of ``ClientsModule.register``: its injection token and how to create it."""

    name: Hashable
    transport: Transport = Transport.MQTT
    options: Any = None
    custom_class: Callable[[Any], ClientProxy] | None = None


@dataclass(frozen=True)
class AsyncClientOptions:
    """One client of ``ClientsModule.register_async``: options come from ``use_factory``.

    The factory receives the ``inject`` tokens and returns the transport's options (or a
    ``ClientOptions``); it may be ``async``.
    """

    name: Hashable
    use_factory: Callable[..., Any]
    inject: Sequence[Any] = ()
    imports: Sequence[Any] = ()
    transport: Transport = Transport.MQTT
    extra_providers: Sequence[Any] = field(default_factory=tuple)


def _client_from(value: Any, transport: Transport) -> ClientProxy:
    if isinstance(value, ClientOptions):
        return ClientProxyFactory.create(
            transport=value.transport, options=value.options, custom_class=value.custom_class
        )
    return ClientProxyFactory.create(transport=transport, options=value)


def _client_provider(item: ClientOptions) -> Provider:
    return Provider(item.name, use_factory=lambda: _client_from(item, item.transport))


def _async_client_provider(item: AsyncClientOptions) -> Provider:
    async def create(*deps: Any) -> ClientProxy:
        value = item.use_factory(*deps)
        if hasattr(value, "__await__"):
            value = await value
        return _client_from(value, item.transport)

    return Provider(item.name, use_factory=create, inject=list(item.inject))


@Module()
class ClientsModule:
    """Registers clients as providers, injectable by name (``Inject("MATH_SERVICE")``).

    Clients are created per application, connect lazily and are closed on shutdown.
    """

    @staticmethod
    def register(
        clients: Sequence[ClientOptions] | None = None,
        *,
        name: Hashable | None = None,
        transport: Transport = Transport.MQTT,
        options: Any = None,
        custom_class: Callable[[Any], ClientProxy] | None = None,
        is_global: bool = False,
    ) -> DynamicModule:
        """``register(name=..., transport=..., options=...)`` or ``register([ClientOptions])``."""
        items = list(clients or [])
        if name is not None:
            items.append(ClientOptions(name, transport, options, custom_class))
        if not items:
            msg = "ClientsModule.register() needs name=... or a list of ClientOptions."
            raise ValueError(msg)
        providers = [_client_provider(item) for item in items]
        return DynamicModule(
            module=ClientsModule,
            providers=providers,
            exports=[item.name for item in items],
            global_=is_global,
        )

    @staticmethod
    def register_async(
        clients: Sequence[AsyncClientOptions] | None = None,
        *,
        name: Hashable | None = None,
        use_factory: Callable[..., Any] | None = None,
        inject: Sequence[Any] = (),
        imports: Sequence[Any] = (),
        transport: Transport = Transport.MQTT,
        is_global: bool = False,
    ) -> DynamicModule:
        """Clients whose options are built by ``use_factory`` from injected providers."""
        items = list(clients or [])
        if name is not None:
            if use_factory is None:
                msg = f"ClientsModule.register_async(name={name!r}) needs use_factory=..."
                raise ValueError(msg)
            items.append(AsyncClientOptions(name, use_factory, inject, imports, transport))
        if not items:
            msg = "ClientsModule.register_async() needs name=... or a list of AsyncClientOptions."
            raise ValueError(msg)
        all_imports: list[Any] = []
        for item in items:
            all_imports.extend(i for i in item.imports if i not in all_imports)
        extra = [p for item in items for p in item.extra_providers]
        return DynamicModule(
            module=ClientsModule,
            imports=all_imports,
            providers=[*extra, *(_async_client_provider(item) for item in items)],
            exports=[item.name for item in items],
            global_=is_global,
        )
