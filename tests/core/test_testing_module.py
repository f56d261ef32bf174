from typing import Annotated

from dependency_injector import providers

from nestpy import Inject, Injectable, Module, NestApplicationContext, Provider
from nestpy.testing import Test, TestingModule


@Injectable()
class Database:
    def __init__(self, url: Annotated[str, Inject("DB_URL")]) -> None:
        self.url = url


@Injectable()
class Repo:
    def __init__(self, db: Database) -> None:
        self.db = db


@Injectable()
class Service:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo


class FakeRepo:
    pass


@Module(providers=[Repo, Database, Provider("DB_URL", use_value="prod://")], exports=[Repo])
class DataModule:
    pass


@Injectable()
class Reporter:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo


@Module(imports=[DataModule], providers=[Service, Reporter], exports=[Service])
class AppModule:
    pass


async def test_conformance_28_override_provider_use_value() -> None:
    mock = FakeRepo()
    module = await (
        Test.create_testing_module(providers=[Service, Repo])
        .override_provider(Repo)
        .use_value(mock)
        .compile()
    )
    assert isinstance(module, TestingModule)
    assert isinstance(module, NestApplicationContext)
    assert module.get(Service).repo is mock


async def test_an_override_is_seen_by_every_consumer_in_every_module() -> None:
    fake = FakeRepo()
    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_provider(Repo)
        .use_value(fake)
        .compile()
    )
    assert module.get(Service).repo is fake
    assert module.get(Reporter).repo is fake
    assert module.get(Repo) is fake


async def test_overrides_go_through_dependency_injector_override() -> None:
    fake = FakeRepo()
    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_provider(Repo)
        .use_value(fake)
        .compile()
    )
    provider = module.select(DataModule).container.Repo
    assert provider.overridden
    assert isinstance(provider.last_overriding, providers.Object)


async def test_the_overridden_provider_dependencies_need_not_exist() -> None:
    @Module(providers=[Service, Repo])  # Repo needs Database, which is missing
    class Lonely:
        pass

    module = await (
        Test.create_testing_module(imports=[Lonely])
        .override_provider(Repo)
        .use_value("fake")
        .compile()
    )
    assert module.get(Service).repo == "fake"


async def test_use_class_resolves_the_replacement_dependencies_in_the_same_module() -> None:
    class InMemoryRepo:
        def __init__(self, url: Annotated[str, Inject("DB_URL")]) -> None:
            self.url = url

    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_provider(Repo)
        .use_class(InMemoryRepo)
        .compile()
    )
    assert isinstance(module.get(Service).repo, InMemoryRepo)
    assert module.get(Service).repo.url == "prod://"


async def test_use_factory_sync_and_async_with_inject_resolved_in_the_provider_module() -> None:
    async def make_url() -> str:
        return "mem:/test"

    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_provider("DB_URL")
        .use_factory(factory=make_url)
        .override_provider(Reporter)
        .use_factory(factory=lambda repo: ("reporter", repo), inject=[Repo])
        .compile()
    )
    assert module.get(Service).repo.db.url == "mem:/test"
    assert module.get(Reporter) == ("reporter", module.get(Repo))


async def test_an_overridden_async_factory_is_never_called() -> None:
    calls = []

    async def connect() -> str:
        calls.append(1)
        return "real"

    @Module(providers=[Provider("CONN", use_factory=connect)])
    class M:
        pass

    module = (
        await Test.create_testing_module(imports=[M])
        .override_provider("CONN")
        .use_value("fake")
        .compile()
    )
    assert module.get("CONN") == "fake"
    assert calls == []


async def test_override_module_replaces_an_imported_module() -> None:
    @Module(providers=[Provider(Repo, use_value="stub repo")], exports=[Repo])
    class StubDataModule:
        pass

    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_module(DataModule)
        .use_module(StubDataModule)
        .compile()
    )
    assert module.get(Service).repo == "stub repo"


async def test_compile_runs_init_hooks_and_close_runs_shutdown_hooks() -> None:
    log: list[str] = []

    class Hooked:
        def on_module_init(self) -> None:
            log.append("init")

        async def on_application_shutdown(self, signal: str | None = None) -> None:
            log.append(f"shutdown {signal}")

    module = await Test.create_testing_module(providers=[Hooked]).compile()
    assert log == ["init"]
    await module.close()
    assert log == ["init", "shutdown None"]


async def test_testing_module_controllers_and_resolve() -> None:
    from nestpy import Controller, Scope

    @Controller()
    class Ctl:
        def __init__(self, service: Service) -> None:
            self.service = service

    @Injectable(scope=Scope.REQUEST)
    class Scoped:
        pass

    module = await (
        Test.create_testing_module(imports=[AppModule], controllers=[Ctl], providers=[Scoped])
        .override_provider(Repo)
        .use_value(FakeRepo())
        .compile()
    )
    assert module.controllers == [Ctl]
    assert module.get(Ctl).service is module.get(Service)
    assert await module.resolve(Scoped, 1) is await module.resolve(Scoped, 1)


async def test_reset_override_restores_a_working_provider() -> None:
    fake = FakeRepo()
    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_provider(Repo)
        .use_value(fake)
        .compile()
    )
    provider = module.select(DataModule).container.Repo
    assert provider() is fake
    provider.reset_override()
    real = provider()
    assert isinstance(real, Repo)
    assert real is not fake
    assert real.db.url == "prod://"
