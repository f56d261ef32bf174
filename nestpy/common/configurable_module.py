"""``ConfigurableModuleBuilder``: ``register``/``register_async`` (or ``for_root``...) for free.

>>> definition = ConfigurableModuleBuilder(CacheOptions).set_class_method_name("for_root").build()
>>> @Module(providers=[CacheService], exports=[CacheService])
... class CacheModule(definition.ConfigurableModuleClass): ...
>>> CacheModule.for_root(CacheOptions(ttl=5))         # or for_root(ttl=5)
>>> CacheModule.for_root_async(use_factory=lambda cfg: CacheOptions(ttl=cfg.ttl),
...                            inject=[ConfigService], imports=[ConfigModule])

``CacheService`` injects the options with ``Annotated[CacheOptions,
Inject(definition.MODULE_OPTIONS_TOKEN)]``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.tokens import InjectionToken, Token

OptionsT = TypeVar("OptionsT")
ExtrasTransform = Callable[[DynamicModule, dict[str, Any]], DynamicModule]


class _ConfigurableModuleMeta(type):
    def __getattr__(cls, name: str) -> Callable[..., DynamicModule]:
        # Tells type checkers that the configured class methods exist; runtime has the real ones.
        raise AttributeError(name)


class ConfigurableModuleBase(metaclass=_ConfigurableModuleMeta):
    """Base of every ``ConfigurableModuleClass``; the class methods are added by ``build()``."""


@dataclass(frozen=True)
class ConfigurableModuleDefinition(Generic[OptionsT]):
    """What ``ConfigurableModuleBuilder.build()`` returns (Nest's names kept)."""

    ConfigurableModuleClass: type[ConfigurableModuleBase]
    MODULE_OPTIONS_TOKEN: Token
    OPTIONS_TYPE: type[OptionsT] | None


class ConfigurableModuleBuilder(Generic[OptionsT]):
    """Builds a module base class with a sync and an async configuration class method."""

    def __init__(
        self,
        options_type: type[OptionsT] | None = None,
        *,
        module_name: str = "Configurable",
        options_injection_token: Token | None = None,
    ) -> None:
        self._options_type = options_type
        self._module_name = module_name
        self._token: Token = options_injection_token or InjectionToken(
            f"{module_name.upper()}_MODULE_OPTIONS"
        )
        self._method = "register"
        self._factory_method = "create"
        self._extras: dict[str, Any] = {}
        self._transform: ExtrasTransform | None = None

    def set_class_method_name(self, name: str) -> Self:
        """Name the class methods ``name`` and ``name_async`` (default ``register``)."""
        self._method = name
        return self

    def set_factory_method_name(self, name: str) -> Self:
        """The method a ``use_class``/``use_existing`` options factory has (default ``create``)."""
        self._factory_method = name
        return self

    def set_extras(
        self, extras: Mapping[str, Any], transform: ExtrasTransform | None = None
    ) -> Self:
        """Extra keyword arguments (with defaults) that ``transform`` applies to the module.

        >>> builder.set_extras({"is_global": False},
        ...                    lambda module, extras: replace(module, global_=extras["is_global"]))
        """
        self._extras = dict(extras)
        self._transform = transform
        return self

    def build(self) -> ConfigurableModuleDefinition[OptionsT]:
        """Create the ``ConfigurableModuleClass`` and the options token."""
        builder = self

        def configure(cls: type[Any], options: Any = None, /, **kwargs: Any) -> DynamicModule:
            extras = builder._take_extras(kwargs)
            if options is None:
                options = builder._options_type(**kwargs) if builder._options_type else kwargs
            elif kwargs:
                msg = f"{cls.__name__}.{builder._method}() got options and keyword arguments"
                raise TypeError(msg)
            provider = Provider(builder._token, use_value=options)
            return builder._finish(DynamicModule(module=cls, providers=[provider]), extras)

        def configure_async(
            cls: type[Any],
            /,
            *,
            use_factory: Callable[..., Any] | None = None,
            inject: Sequence[Any] = (),
            imports: Sequence[Any] = (),
            use_class: type[Any] | None = None,
            use_existing: Token | None = None,
            **kwargs: Any,
        ) -> DynamicModule:
            extras = builder._take_extras(kwargs)
            if kwargs:
                msg = f"{cls.__name__}.{builder._method}_async() got unexpected {sorted(kwargs)}"
                raise TypeError(msg)
            given = [x for x in (use_factory, use_class, use_existing) if x is not None]
            if len(given) != 1:
                msg = (
                    f"{cls.__name__}.{builder._method}_async() needs exactly one of "
                    "use_factory, use_class or use_existing"
                )
                raise TypeError(msg)
            providers = builder._async_providers(use_factory, inject, use_class, use_existing)
            module = DynamicModule(module=cls, imports=imports, providers=providers)
            return builder._finish(module, extras)

        namespace = {
            self._method: classmethod(configure),
            f"{self._method}_async": classmethod(configure_async),
        }
        module_class = type(f"{self._module_name}ModuleClass", (ConfigurableModuleBase,), namespace)
        return ConfigurableModuleDefinition(module_class, self._token, self._options_type)

    def _take_extras(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {key: kwargs.pop(key, default) for key, default in self._extras.items()}

    def _finish(self, module: DynamicModule, extras: dict[str, Any]) -> DynamicModule:
        return self._transform(module, extras) if self._transform else module

    def _async_providers(
        self,
        use_factory: Callable[..., Any] | None,
        inject: Sequence[Any],
        use_class: type[Any] | None,
        use_existing: Token | None,
    ) -> list[Provider]:
        if use_factory is not None:
            return [Provider(self._token, use_factory=use_factory, inject=inject)]
        method = self._factory_method

        async def create(factory: Any) -> Any:
            result = getattr(factory, method)()
            return await result if inspect.isawaitable(result) else result

        if use_class is not None:
            return [
                Provider(use_class, use_class=use_class),
                Provider(self._token, use_factory=create, inject=[use_class]),
            ]
        return [Provider(self._token, use_factory=create, inject=[use_existing])]
