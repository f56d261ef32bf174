import pytest

from nestpy import (
    Controller,
    Injectable,
    Module,
    NestFactory,
    Provider,
    Scope,
    UnknownElementError,
)
from nestpy.core.errors.exceptions import AsyncTransientError


@Injectable()
class Repo:
    pass


@Controller("cats")
class CatsController:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo


@Controller()
class DogsController:
    pass


@Controller()
class RootController:
    pass


@Module(providers=[Repo], controllers=[CatsController, DogsController], exports=[Repo])
class PetsModule:
    pass


@Module(imports=[PetsModule], controllers=[RootController], providers=[Provider("X", use_value=1)])
class AppModule:
    pass


async def test_controllers_are_listed_in_module_init_order_and_found_by_get() -> None:
    app = await NestFactory.create_application_context(AppModule)
    assert app.controllers == [CatsController, DogsController, RootController]
    assert app.get(CatsController).repo is app.get(Repo)
    assert app.module_ref_of(CatsController).module is PetsModule
    assert app.module_ref_of(RootController).module is AppModule


async def test_get_strict_searches_the_root_module_only() -> None:
    app = await NestFactory.create_application_context(AppModule)
    assert app.get("X", strict=True) == 1
    assert app.get(RootController, strict=True) is app.get(RootController)
    with pytest.raises(UnknownElementError):
        app.get(Repo, strict=True)


async def test_get_of_an_unknown_token_fails_with_nest_text() -> None:
    app = await NestFactory.create_application_context(AppModule)
    with pytest.raises(UnknownElementError) as caught:
        app.get("MISSING")
    assert caught.value.token == "MISSING"
    assert str(caught.value) == (
        "Nest could not find MISSING element (this provider does not exist in the current context)"
    )
    with pytest.raises(UnknownElementError):
        app.get(["unhashable"])  # type: ignore[arg-type]
    with pytest.raises(UnknownElementError):
        await app.resolve("MISSING")
    with pytest.raises(UnknownElementError):
        app.is_request_scoped("MISSING")


async def test_every_default_scope_provider_is_built_at_bootstrap() -> None:
    built: list[str] = []

    class Eager:
        def __init__(self) -> None:
            built.append("eager")

    class Failing:
        def __init__(self) -> None:
            raise RuntimeError("boom at bootstrap")

    await NestFactory.create_application_context(Module(providers=[Eager])(type("M", (), {})))
    assert built == ["eager"]
    with pytest.raises(RuntimeError, match="boom at bootstrap"):
        await NestFactory.create_application_context(Module(providers=[Failing])(type("M", (), {})))


async def test_async_transient_factories_are_rejected_at_bootstrap() -> None:
    async def make() -> int:
        return 1

    @Module(providers=[Provider("T", use_factory=make, scope=Scope.TRANSIENT)])
    class M:
        pass

    with pytest.raises(AsyncTransientError) as caught:
        await NestFactory.create_application_context(M)
    assert str(caught.value) == (
        "The factory of T is async and transient-scoped. Async factories are awaited once at "
        "bootstrap (Scope.DEFAULT) or per context id (Scope.REQUEST); make it synchronous or "
        "choose one of those scopes."
    )


async def test_module_classes_can_inject_providers() -> None:
    seen: list[object] = []

    @Module(providers=[Repo])
    class WithDeps:
        def __init__(self, repo: Repo) -> None:
            seen.append(repo)

    app = await NestFactory.create_application_context(WithDeps)
    assert seen == [app.get(Repo)]
    assert isinstance(app.get(WithDeps), WithDeps)  # the module instance, as in Nest


async def test_each_module_compiles_to_a_dependency_injector_container() -> None:
    from dependency_injector import containers, providers

    app = await NestFactory.create_application_context(AppModule)
    container = app.select(PetsModule).container
    assert isinstance(container, containers.DynamicContainer)
    assert isinstance(container.Repo, providers.Singleton)
    assert isinstance(container.CatsController, providers.Singleton)
    assert isinstance(app.select(AppModule).container.X, providers.Object)
