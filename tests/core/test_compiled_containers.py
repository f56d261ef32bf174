"""The per-module dependency-injector containers are what runs: async factories are library
providers, and an override made on a container's provider is what ``get``/``resolve``,
``ModuleRef`` and later consumers see."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from dependency_injector import providers

from nestpy import (
    APP_GUARD,
    Controller,
    Inject,
    Injectable,
    Module,
    ModuleRef,
    NestFactory,
    Provider,
    Scope,
    UseGuards,
)
from nestpy.common.enhancers import GUARDS_ATTR
from nestpy.testing import Test

connects: list[str] = []


async def connect(url: str) -> dict[str, str]:
    connects.append(url)
    await asyncio.sleep(0)
    return {"url": url}


async def pool(conn: dict[str, str]) -> Any:
    yield ("pool", conn["url"])


@Injectable()
class Users:
    def __init__(self, conn: Annotated[dict[str, str], Inject("CONN")]) -> None:
        self.conn = conn


@Injectable(scope=Scope.REQUEST)
class PerMessage:
    def __init__(self, conn: Annotated[dict[str, str], Inject("CONN")]) -> None:
        self.conn = conn


@Module(
    providers=[
        Provider("URL", use_value="db://prod"),
        Provider("CONN", use_factory=connect, inject=["URL"]),
        Provider("POOL", use_factory=pool, inject=["CONN"]),
        Users,
        PerMessage,
    ],
    exports=["CONN"],
)
class DbModule: ...


async def test_an_async_factory_is_a_singleton_of_the_module_container() -> None:
    app = await NestFactory.create_application_context(DbModule)
    container = app.select(DbModule).container
    assert isinstance(container.CONN, providers.Singleton)
    assert container.CONN() is app.get("CONN")  # the instance, not an awaitable of it
    assert app.get("CONN") == {"url": "db://prod"}
    assert app.get(Users).conn is app.get("CONN")
    assert await app.resolve("CONN") is app.get("CONN")


async def test_an_async_resource_is_the_module_container_resource() -> None:
    app = await NestFactory.create_application_context(DbModule)
    container = app.select(DbModule).container
    assert isinstance(container.POOL, providers.Resource)
    assert container.POOL() == ("pool", "db://prod") == app.get("POOL")
    await app.close()
    assert not container.POOL.initialized


async def test_an_override_on_the_container_is_what_the_application_reads() -> None:
    app = await NestFactory.create_application_context(DbModule)
    real = app.get("CONN")
    ref = app.get(ModuleRef)
    ref.container.CONN.override(providers.Object({"url": "mem://"}))
    assert app.get("CONN") == {"url": "mem://"}
    assert ref.get("CONN") == {"url": "mem://"}
    assert (await app.resolve(PerMessage, "m1")).conn == {"url": "mem://"}
    ref.container.CONN.reset_override()
    assert app.get("CONN") is real
    assert (await app.resolve(PerMessage, "m2")).conn is real


async def test_an_overridden_async_factory_comes_back_after_reset_override() -> None:
    connects.clear()
    module = await (
        Test.create_testing_module(imports=[DbModule])
        .override_provider("CONN")
        .use_value({"url": "fake"})
        .compile()
    )
    assert module.get(Users).conn == {"url": "fake"}
    assert connects == []
    provider = module.select(DbModule).container.CONN
    provider.reset_override()
    assert await module.resolve("CONN") == {"url": "db://prod"}  # awaited, with its injections
    assert module.get("CONN") == {"url": "db://prod"}  # then cached, as any singleton
    assert connects == ["db://prod"]


async def test_an_async_factory_overridden_by_an_async_factory_gives_its_instance() -> None:
    async def fake_connect(url: str) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"url": url, "fake": "yes"}

    module = await (
        Test.create_testing_module(imports=[DbModule])
        .override_provider("CONN")
        .use_factory(factory=fake_connect, inject=["URL"])
        .compile()
    )
    assert module.get("CONN") == {"url": "db://prod", "fake": "yes"}
    assert module.get(Users).conn is module.get("CONN")
    assert module.select(DbModule).container.CONN() is module.get("CONN")


class AllowAll:
    def can_activate(self, context: Any) -> bool:
        return True


@Injectable()
class AuthGuard:
    def can_activate(self, context: Any) -> bool:
        return False


@Controller()
@UseGuards(AuthGuard)
class GuardedController: ...


@Module(controllers=[GuardedController], providers=[Provider(APP_GUARD, use_class=AuthGuard)])
class GuardedModule: ...


async def test_enhancers_are_read_from_the_container_when_handlers_are_set_up() -> None:
    app = await NestFactory.create_application_context(GuardedModule)
    container = app.select(GuardedModule).container
    allow = AllowAll()
    container.AuthGuard.override(providers.Object(allow))
    assert app.enhancer_source(AuthGuard, GuardedController).instance is allow
    container.APP_GUARD.override(providers.Object(allow))
    sources = app.global_enhancer_sources(GUARDS_ATTR, GuardedController)
    assert [source.instance for source in sources] == [allow]
