import asyncio
from typing import Annotated, Any

import pytest

from nestpy import (
    REQUEST,
    Inject,
    Injectable,
    Module,
    ModuleRef,
    NestFactory,
    Provider,
    Scope,
    UnknownElementError,
)
from nestpy.core.errors.exceptions import InvalidClassError


@Injectable()
class Repo:
    pass


@Injectable(scope=Scope.REQUEST)
class PerRequest:
    def __init__(self, request: Annotated[Any, Inject(REQUEST)]) -> None:
        self.request = request


@Injectable()
class Plugins:
    def __init__(self, module_ref: ModuleRef) -> None:
        self.module_ref = module_ref


@Module(providers=[Repo, Provider("SECRET", use_value="s")], exports=[Repo])
class DataModule:
    pass


@Module(imports=[DataModule], providers=[Plugins, PerRequest])
class AppModule:
    pass


async def test_get_is_strict_to_the_injecting_module_by_default() -> None:
    app = await NestFactory.create_application_context(AppModule)
    ref = app.get(Plugins).module_ref
    assert ref.module is AppModule
    assert ref.get(Plugins) is app.get(Plugins)
    with pytest.raises(UnknownElementError) as caught:
        ref.get(Repo)
    assert str(caught.value) == (
        "Nest could not find Repo element (this provider does not exist in the current context)"
    )
    assert ref.get(Repo, strict=False) is app.get(Repo)
    assert ref.get("SECRET", strict=False) == "s"


async def test_resolve_gives_request_scoped_instances_per_context_id() -> None:
    app = await NestFactory.create_application_context(AppModule)
    ref = app.get(Plugins).module_ref
    ref.register_request_by_context_id("req", "ctx")
    first = await ref.resolve(PerRequest, "ctx")
    assert first.request == "req"
    assert await ref.resolve(PerRequest, "ctx") is first
    assert await app.resolve(PerRequest, "ctx") is first
    assert await ref.resolve(PerRequest) is not await ref.resolve(PerRequest)


async def test_create_instantiates_an_unregistered_class_with_its_dependencies() -> None:
    class Report:
        def __init__(self, repo: Repo) -> None:
            self.repo = repo

    app = await NestFactory.create_application_context(AppModule)
    ref = app.get(Plugins).module_ref
    report = await ref.create(Report)
    assert report.repo is app.get(Repo)
    assert await ref.create(Report) is not report
    with pytest.raises(InvalidClassError) as caught:
        await ref.create(42)  # type: ignore[arg-type]
    assert str(caught.value) == "ModuleRef cannot instantiate class (42 is not constructable)."


async def test_create_resolves_request_scoped_dependencies_in_a_fresh_context() -> None:
    class NeedsRequest:
        def __init__(self, per_request: PerRequest) -> None:
            self.per_request = per_request

    app = await NestFactory.create_application_context(AppModule)
    ref = app.get(Plugins).module_ref
    made = await asyncio.gather(ref.create(NeedsRequest), ref.create(NeedsRequest))
    assert made[0].per_request is not made[1].per_request


async def test_each_module_gets_its_own_module_ref_with_its_container() -> None:
    app = await NestFactory.create_application_context(AppModule)
    data_ref = app.select(DataModule)
    assert data_ref.module is DataModule
    assert data_ref.get(Repo) is app.get(Repo)
    assert data_ref.get("SECRET") == "s"
    assert data_ref.container.Repo() is app.get(Repo)  # the dependency-injector container
    assert app.module_ref_of(Plugins).module is AppModule
    assert app.get(ModuleRef).module is AppModule
