from dataclasses import dataclass, replace
from typing import Annotated, Any

from nestpy import (
    ConfigurableModuleBuilder,
    DynamicModule,
    Inject,
    Injectable,
    Module,
    NestFactory,
    Provider,
)


@Injectable()
class ConfigService:
    def __init__(self, path: Annotated[str, Inject("CONFIG_PATH")]) -> None:
        self.path = path


@Module(providers=[ConfigService], exports=[ConfigService])
class ConfigModule:
    @classmethod
    def for_root(cls, path: str, *, is_global: bool = False) -> DynamicModule:
        return DynamicModule(
            module=cls,
            providers=[Provider("CONFIG_PATH", use_value=path)],
            global_=is_global,
        )

    @classmethod
    def for_root_async(
        cls, *, use_factory: Any, inject: list[Any], imports: list[Any]
    ) -> DynamicModule:
        return DynamicModule(
            module=cls,
            imports=imports,
            providers=[Provider("CONFIG_PATH", use_factory=use_factory, inject=inject)],
        )


@Injectable()
class Reader:
    def __init__(self, config: ConfigService) -> None:
        self.config = config


async def test_dynamic_metadata_extends_the_static_metadata() -> None:
    @Module(imports=[ConfigModule.for_root("/etc/app")], providers=[Reader])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(Reader).config.path == "/etc/app"


async def test_a_dynamic_module_can_be_the_root() -> None:
    app = await NestFactory.create_application_context(ConfigModule.for_root("/root"))
    assert app.get(ConfigService).path == "/root"


async def test_equal_dynamic_modules_are_one_module_and_different_ones_are_two() -> None:
    @Module(imports=[ConfigModule.for_root("/a")], providers=[Reader], exports=[Reader])
    class First:
        pass

    class OtherReader(Reader):
        pass

    @Module(imports=[ConfigModule.for_root("/a")], providers=[OtherReader], exports=[OtherReader])
    class Second:
        pass

    class ThirdReader(Reader):
        pass

    @Module(imports=[ConfigModule.for_root("/b")], providers=[ThirdReader], exports=[ThirdReader])
    class Third:
        pass

    @Module(imports=[First, Second, Third])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(Reader).config is app.get(OtherReader).config
    assert app.get(ThirdReader).config is not app.get(Reader).config
    assert app.get(ThirdReader).config.path == "/b"


async def test_a_global_dynamic_module_is_visible_everywhere() -> None:
    @Module(providers=[Reader])
    class Feature:
        pass

    @Module(imports=[ConfigModule.for_root("/g", is_global=True), Feature])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(Reader).config.path == "/g"


async def test_async_variant_with_use_factory_inject_and_imports() -> None:
    @Module(providers=[Provider("ENV", use_value={"path": "/from/env"})], exports=["ENV"])
    class EnvModule:
        pass

    async def path_from_env(env: dict[str, str]) -> str:
        return env["path"]

    @Module(
        imports=[
            ConfigModule.for_root_async(
                use_factory=path_from_env, inject=["ENV"], imports=[EnvModule]
            )
        ],
        providers=[Reader],
    )
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(Reader).config.path == "/from/env"


@dataclass
class CacheOptions:
    ttl: int = 60


cache_definition = (
    ConfigurableModuleBuilder(CacheOptions)
    .set_class_method_name("for_root")
    .set_extras({"is_global": False}, lambda m, extras: replace(m, global_=extras["is_global"]))
    .build()
)
CACHE_OPTIONS = cache_definition.MODULE_OPTIONS_TOKEN


@Injectable()
class CacheService:
    def __init__(self, options: Annotated[CacheOptions, Inject(CACHE_OPTIONS)]) -> None:
        self.options = options


@Module(providers=[CacheService], exports=[CacheService])
class CacheModule(cache_definition.ConfigurableModuleClass):  # type: ignore[misc]
    pass


async def test_configurable_module_sync_method_takes_options_or_keywords() -> None:
    @Module(imports=[CacheModule.for_root(CacheOptions(ttl=5))])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(CacheService).options == CacheOptions(ttl=5)

    app = await NestFactory.create_application_context(CacheModule.for_root(ttl=7))
    assert app.get(CacheService).options == CacheOptions(ttl=7)


async def test_configurable_module_extras_are_applied_and_removed_from_options() -> None:
    class User:
        def __init__(self, cache: CacheService) -> None:
            self.cache = cache

    @Module(providers=[User])
    class Feature:
        pass

    @Module(imports=[CacheModule.for_root(ttl=1, is_global=True), Feature])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(User).cache.options == CacheOptions(ttl=1)


async def test_configurable_module_async_with_use_factory_inject_and_imports() -> None:
    @Module(providers=[Provider("TTL", use_value=9)], exports=["TTL"])
    class Settings:
        pass

    async def options(ttl: int) -> CacheOptions:
        return CacheOptions(ttl=ttl)

    module = CacheModule.for_root_async(use_factory=options, inject=["TTL"], imports=[Settings])
    app = await NestFactory.create_application_context(module)
    assert app.get(CacheService).options == CacheOptions(ttl=9)


async def test_configurable_module_async_with_use_class_calls_its_create_method() -> None:
    class OptionsFactory:
        async def create(self) -> CacheOptions:
            return CacheOptions(ttl=3)

    module = CacheModule.for_root_async(use_class=OptionsFactory)
    app = await NestFactory.create_application_context(module)
    assert app.get(CacheService).options == CacheOptions(ttl=3)


async def test_configurable_module_default_method_name_is_register() -> None:
    definition = ConfigurableModuleBuilder[dict[str, Any]]().build()

    @Module(
        providers=[
            Provider("OUT", use_factory=lambda o: o, inject=[definition.MODULE_OPTIONS_TOKEN])
        ]
    )
    class Lib(definition.ConfigurableModuleClass):  # type: ignore[misc]
        pass

    app = await NestFactory.create_application_context(Lib.register(a=1))
    assert app.get("OUT") == {"a": 1}
    existing = Lib.register_async(use_existing="FACTORY")
    assert [p.token for p in existing.providers] == [definition.MODULE_OPTIONS_TOKEN]
