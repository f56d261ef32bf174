"""Hybrid apps: a FastAPI/Starlette lifespan boots nestpy and its MQTT microservice; nestpy
providers are injected into HTTP routes (requests through httpx's ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from ops_app import AppModule, Database
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from transport_support import Harness, eventually

from nestpy import REQUEST, Inject, Injectable, Module, Scope
from nestpy.microservices import Transport
from nestpy.ops import NestpyState, create_ops_app, inject, nestpy_lifespan, ops_routes

pytestmark = pytest.mark.mqtt


@asynccontextmanager
async def running(app) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


def mqtt(harness: Harness) -> list[dict[str, object]]:
    return [{"transport": Transport.MQTT, "options": harness.options(), "drain_timeout": 2.0}]


async def test_a_fastapi_route_and_an_mqtt_handler_share_one_provider(harness: Harness):
    nestpy = nestpy_lifespan(AppModule, microservices=mqtt(harness))
    app = FastAPI(lifespan=nestpy)
    app.mount("/ops", create_ops_app(nestpy.indicators))

    @app.get("/users")
    def users(db: Annotated[Database, Depends(inject(Database))]) -> list[str]:
        return db.users

    async with running(app) as http:
        client = harness.client()
        await client.emit("ops/users/ada/created", "Ada")
        assert nestpy.state is not None
        db = nestpy.state.get(Database)
        await eventually(lambda: db.users == ["Ada"])
        assert (await http.get("/users")).json() == ["Ada"]
        assert await client.send("ops/sum", [1, 2, 3]) == 6
        ready = await http.get("/ops/readyz")
        assert ready.status_code == 200
        assert ready.json()["info"].keys() == {"mqtt", "database"}
    assert nestpy.indicators()[0].draining  # shut down: readiness went to 503 first


@Injectable(scope=Scope.REQUEST)
class Caller:
    def __init__(self, request: Annotated[Request, Inject(REQUEST)]) -> None:
        self.request = request

    def agent(self) -> str:
        return str(self.request.headers["user-agent"])


async def test_a_request_scoped_provider_gets_the_http_request():
    @Module(providers=[Caller])
    class HttpModule:
        pass

    app = FastAPI(lifespan=nestpy_lifespan(HttpModule))

    @app.get("/agent")
    def agent(caller: Annotated[Caller, Depends(inject(Caller))]) -> str:
        return caller.agent()

    async with running(app) as http:
        first = await http.get("/agent", headers={"user-agent": "probe/1"})
        second = await http.get("/agent", headers={"user-agent": "probe/2"})
    assert (first.json(), second.json()) == ("probe/1", "probe/2")


async def test_a_starlette_app_reads_the_state_and_mounts_the_ops_routes(harness: Harness):
    async def users(request: Request) -> JSONResponse:
        state: NestpyState = request.app.state.nestpy
        return JSONResponse(state.get(Database).users)

    nestpy = nestpy_lifespan(AppModule, microservices=mqtt(harness))
    app = Starlette(
        routes=[Route("/users", users), Mount("/health", routes=ops_routes(nestpy.indicators))],
        lifespan=nestpy,
    )
    async with running(app) as http:
        assert (await http.get("/users")).json() == []
        assert (await http.get("/health/livez")).json() == {"status": "ok"}
        assert (await http.get("/health/readyz")).json()["status"] == "ok"
        assert "nestpy_messages_total" in (await http.get("/health/metrics")).text


async def test_inject_without_the_lifespan_says_what_to_do():
    app = FastAPI()

    @app.get("/users")
    def users(db: Annotated[Database, Depends(inject(Database))]) -> list[str]:
        return db.users

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        with pytest.raises(RuntimeError, match=r"pass lifespan=nestpy_lifespan\(AppModule\)"):
            await http.get("/users")
