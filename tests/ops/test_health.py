"""Health probes over real HTTP (uvicorn on the service's loop) against a real Mosquitto:
``/livez``, ``/readyz`` from the transport's state and the app's indicator providers."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from ops_app import AppModule, Database, OpsController
from transport_support import Harness, eventually

from nestpy.microservices import NestMicroservice, Transport, create_microservice
from nestpy.microservices.handler import MessageHandler
from nestpy.ops import HealthPortInUseError
from nestpy_mqtt import MqttOptions
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt

LOCAL = {"health_port": 0, "health_host": "127.0.0.1"}


def base_url(app: NestMicroservice) -> str:
    return f"http://127.0.0.1:{app.operations.port}"


async def probe(app: NestMicroservice, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url(app), timeout=10) as http:
        return await http.get(path)


async def wait_ready(app: NestMicroservice, status: int) -> httpx.Response:
    last: list[httpx.Response] = []

    async def check() -> bool:
        last[:] = [await probe(app, "/readyz")]
        return last[0].status_code == status

    deadline = time.monotonic() + 15
    while not await check():
        assert time.monotonic() < deadline, last[0].text
        await asyncio.sleep(0.05)
    return last[0]


async def test_ready_when_connected_and_subscribed_with_each_check_named(harness: Harness):
    app = await harness.app(AppModule, server=LOCAL)
    live = await probe(app, "/livez")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await probe(app, "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["error"] == {}
    assert body["info"]["mqtt"] == {
        "connection": "connected",
        "subscriptions": "5/5",
        "status": "up",
    }
    assert body["info"]["database"] == {"users": 0, "status": "up"}
    assert body["details"].keys() == {"mqtt", "database"}


async def test_503_while_connecting_then_200_once_subscribed(broker_factory):
    broker: MosquittoBroker = broker_factory()  # built, not started: nothing answers yet
    options = MqttOptions(url=broker.url, reconnect_min_delay=0.05, reconnect_max_delay=0.2)
    app = await create_microservice(
        AppModule, transport=Transport.MQTT, options=options, drain_timeout=1.0, **LOCAL
    )
    listening = asyncio.create_task(app.listen())
    try:
        await eventually(lambda: app.operations.port != 0 and app.operations._server is not None)
        assert (await probe(app, "/livez")).status_code == 200
        ready = await probe(app, "/readyz")
        assert ready.status_code == 503
        error = ready.json()["error"]["mqtt"]
        assert error["status"] == "down"
        assert error["message"].startswith("connecting")
        broker.start()
        await asyncio.wait_for(listening, 20)
        assert (await probe(app, "/readyz")).status_code == 200
    finally:
        listening.cancel()
        await app.close()


async def test_503_while_the_broker_is_down_and_200_after_it_returns(private_broker):
    harness = Harness(private_broker.url)
    try:
        app = await harness.app(AppModule, server=LOCAL)
        await wait_ready(app, 200)
        private_broker.stop()
        down = await wait_ready(app, 503)
        assert down.json()["error"]["mqtt"]["connection"] in ("disconnected", "reconnecting")
        assert "database" in down.json()["info"]  # the other checks still report
        private_broker.start()
        await wait_ready(app, 200)
    finally:
        await harness.close()


async def test_503_while_draining_at_shutdown(harness: Harness):
    app = await harness.app(AppModule, server={**LOCAL, "drain_timeout": 20.0})
    controller = app.get(OpsController)
    client = harness.client()
    slow = asyncio.ensure_future(client.send("ops/slow", 30))
    await eventually(lambda: len(app.server._tasks) == 1, timeout=10)
    closing = asyncio.create_task(app.close())
    try:
        draining = await wait_ready(app, 503)
        assert draining.json()["error"]["mqtt"]["message"].startswith("draining")
    finally:
        controller.release.set()
        await closing
    assert await slow == "done"


async def test_an_indicator_that_fails_or_hangs_is_named_and_bounded(harness: Harness):
    app = await harness.app(AppModule, server=LOCAL)
    db = app.get(Database)
    db.up = False
    failed = await probe(app, "/readyz")
    assert failed.status_code == 503
    assert failed.json()["error"] == {
        "database": {"status": "down", "message": "ConnectionError: database unreachable"}
    }
    assert failed.json()["info"]["mqtt"]["status"] == "up"
    db.up, db.hang = True, True
    hung = await probe(app, "/readyz")  # the indicator never returns: its 0.5 s timeout does
    assert hung.status_code == 503
    assert hung.json()["error"]["database"] == {
        "status": "down",
        "message": "timed out after 0.5 s",
    }
    db.hang = False
    assert (await probe(app, "/readyz")).status_code == 200


async def test_a_health_port_in_use_fails_listen_with_one_clear_line(harness: Harness):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    original = MessageHandler.invoke
    try:
        app = await harness.app(
            AppModule, listen=False, server={"health_port": port, "health_host": "127.0.0.1"}
        )
        with pytest.raises(HealthPortInUseError) as caught:
            await app.listen()
    finally:
        taken.close()
    assert str(caught.value) == (
        f"Health port {port} on 127.0.0.1 is already in use: choose another health_port "
        "(--health-port) or stop the process listening there"
    )
    assert MessageHandler.invoke is original  # nothing left instrumented


def test_worker_processes_serve_on_the_port_plus_their_index(monkeypatch):
    from nestpy.ops import Operations

    monkeypatch.setenv("NESTPY_WORKER", "2")
    assert Operations(8080).port == 8082
    assert Operations(0).port == 0  # any free port stays any free port
    monkeypatch.delenv("NESTPY_WORKER")
    assert Operations(8080).port == 8080
