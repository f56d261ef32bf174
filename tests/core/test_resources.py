"""Resources: generator / context-manager factories, torn down at close or after a message."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest

from nestpy import Controller, Inject, Injectable, Module, NestFactory, Provider, Scope
from nestpy.core.resources import TransientResourceError
from nestpy.microservices import MessagePattern
from tests.nest_specs.support import serve

events: list[str] = []


class Pool:
    """A third-party pool: closable, and nothing more."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True
        events.append(f"close {self.name}")


def sync_pool() -> Iterator[Pool]:
    pool = Pool("sync")
    events.append("open sync")
    yield pool
    pool.close()


async def async_pool(first: Pool) -> AsyncIterator[Pool]:
    events.append("open async")
    yield Pool(f"async after {first.name}")
    events.append("close async")


@contextlib.contextmanager
def managed() -> Iterator[str]:
    events.append("enter managed")
    yield "managed"
    events.append("exit managed")


@Injectable()
class Service:
    def __init__(
        self,
        pool: Annotated[Pool, Inject("SYNC")],
        second: Annotated[Pool, Inject("ASYNC")],
        value: Annotated[str, Inject("MANAGED")],
    ) -> None:
        self.pool, self.second, self.value = pool, second, value

    def on_application_shutdown(self) -> None:
        events.append(f"shutdown hook, pool closed: {self.pool.closed}")


@Module(
    providers=[
        Provider("SYNC", use_factory=sync_pool),
        Provider("ASYNC", use_factory=async_pool, inject=["SYNC"]),
        Provider("MANAGED", use_factory=managed),
        Service,
    ]
)
class PoolModule: ...


async def test_static_resources_are_closed_at_shutdown_in_reverse_order() -> None:
    events.clear()
    app = await NestFactory.create_application_context(PoolModule)
    service = app.get(Service)
    assert (service.pool.name, service.second.name, service.value) == (
        "sync",
        "async after sync",
        "managed",
    )
    assert events == ["open sync", "open async", "enter managed"]
    await app.close()
    assert events[3:] == [
        "shutdown hook, pool closed: False",
        "exit managed",
        "close async",
        "close sync",
    ]


def per_message() -> Iterator[Pool]:
    pool = Pool("message")
    yield pool
    pool.close()


@Controller()
class Handlers:
    def __init__(self, pool: Annotated[Pool, Inject("PER_MESSAGE")]) -> None:
        self.pool = pool

    @MessagePattern("use")
    def use(self, data: Any) -> bool:
        return self.pool.closed


@Module(
    controllers=[Handlers],
    providers=[Provider("PER_MESSAGE", use_factory=per_message, scope=Scope.REQUEST)],
)
class MessageModule: ...


async def test_request_scoped_resource_is_torn_down_after_each_message() -> None:
    events.clear()
    async with serve(MessageModule) as s:
        assert await s.send("use", 1) is False
        assert await s.send("use", 2) is False
        assert events == ["close message", "close message"]


async def test_a_transient_resource_is_refused() -> None:
    @Module(providers=[Provider("T", use_factory=per_message, scope=Scope.TRANSIENT)])
    class Bad: ...

    with pytest.raises(TransientResourceError, match="transient"):
        await NestFactory.create_application_context(Bad)
