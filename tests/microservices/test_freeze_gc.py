"""``gc.freeze()`` after start-up is an opt-in of ``create_microservice(freeze_gc=True)``."""

import asyncio

import pytest

import nestpy.microservices.microservice as microservice_module
from nestpy import Controller, Module
from nestpy.microservices import MessagePattern, Transport, create_microservice
from nestpy.testing import InMemoryBroker, InMemoryClient, InMemoryOptions


@Controller()
class PingController:
    @MessagePattern("freeze/ping")
    def ping(self, data: int) -> str:
        return "pong"


@Module(controllers=[PingController])
class PingModule: ...


async def run_once(monkeypatch: pytest.MonkeyPatch, **kwargs: bool) -> int:
    """Start ``run()``, answer one request, close; return how often ``gc.freeze`` was called."""
    calls: list[None] = []
    monkeypatch.setattr(microservice_module.gc, "freeze", lambda: calls.append(None))
    options = InMemoryOptions(broker=InMemoryBroker())
    app = await create_microservice(
        PingModule, transport=Transport.IN_MEMORY, options=options, **kwargs
    )
    await app.listen()
    running = asyncio.ensure_future(app.run(shutdown_signals=()))
    client = InMemoryClient(options)
    assert await client.send("freeze/ping", 1) == "pong"
    await app.close()
    await asyncio.wait_for(running, 10)
    await client.close()
    return len(calls)


async def test_run_does_not_freeze_the_collector_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await run_once(monkeypatch) == 0


async def test_freeze_gc_freezes_once_after_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await run_once(monkeypatch, freeze_gc=True) == 1
