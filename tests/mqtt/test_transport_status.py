"""Status streams, ``on()`` and ``unwrap()`` of the client and of a microservice (its server),
on Mosquitto, including a broker restart."""

from __future__ import annotations

import asyncio
from typing import Any

import paho.mqtt.client as paho
import pytest
from transport_support import Harness, eventually, make_module

from nestpy import Controller
from nestpy.microservices import MessagePattern
from nestpy_mqtt import MqttNotInitializedError, MqttStatus
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
C, D, R, X = (
    MqttStatus.CONNECTED,
    MqttStatus.DISCONNECTED,
    MqttStatus.RECONNECTING,
    MqttStatus.CLOSED,
)


@Controller()
class PingController:
    @MessagePattern("ping")
    def ping(self, data: Any) -> str:
        return "pong"


class Recorder:
    """Every status a stream reports, collected in the background; ``events`` from ``on()``."""

    def __init__(self, target: Any) -> None:
        self.statuses: list[MqttStatus] = []
        self.events: list[str] = []
        for name in ("connect", "disconnect", "reconnect", "offline", "close"):
            target.on(name, lambda *_args, event=name: self.events.append(event))
        self._task = asyncio.ensure_future(self._consume(target.status))

    async def _consume(self, stream: Any) -> None:
        async for status in stream:
            self.statuses.append(status)

    def stop(self) -> None:
        self._task.cancel()


async def test_client_status_on_and_unwrap(harness: Harness) -> None:
    client = harness.client()
    assert client.status.current is None
    with pytest.raises(MqttNotInitializedError) as info:
        client.unwrap()
    assert str(info.value).startswith('Not initialized. Please call the "connect" method first.')
    recorder = Recorder(client)  # listeners attached before the connection exists
    await harness.service(PingController)
    assert await client.send("ping", 1, timeout=5) == "pong"
    paho_client = client.unwrap()
    assert isinstance(paho_client, paho.Client)
    assert paho_client.is_connected()
    late: list[MqttStatus] = []
    async for status in client.status:  # a late subscriber gets the latest status at once
        late.append(status)
        break
    await client.close()
    await eventually(lambda: recorder.statuses == [C, X])
    recorder.stop()
    assert late == [C]
    assert recorder.events == ["connect", "close"]
    with pytest.raises(MqttNotInitializedError):
        client.unwrap()


async def test_microservice_status_on_and_unwrap(harness: Harness) -> None:
    app = await harness.app(make_module([PingController]), listen=False)
    with pytest.raises(MqttNotInitializedError) as info:
        app.unwrap()
    assert str(info.value).startswith('Not initialized. Please call the "listen" method')
    assert app.status.current is None
    recorder = Recorder(app)
    await app.listen()
    assert app.status.current is C
    assert app.unwrap().is_connected()
    await app.close()
    await eventually(lambda: recorder.statuses == [C, X])
    recorder.stop()
    assert recorder.events == ["connect", "close"]


async def test_broker_restart_statuses_for_client_and_server(
    private_broker: MosquittoBroker, mqtt_version: int
) -> None:
    peers = Harness(private_broker.url, mqtt_version)
    try:
        app = await peers.service(PingController)
        client = peers.client()
        assert await client.send("ping", 1, timeout=5) == "pong"
        recorders = [Recorder(app), Recorder(client)]
        await eventually(lambda: all(r.statuses == [C] for r in recorders))
        private_broker.stop()
        await eventually(lambda: all(r.statuses[-1:] == [R] for r in recorders))
        private_broker.start()
        await eventually(lambda: all(r.statuses[-1:] == [C] for r in recorders), timeout=10)
        for recorder in recorders:
            assert recorder.statuses == [C, D, R, C]
            assert recorder.events[:3] == ["offline", "disconnect", "reconnect"]
            assert recorder.events[-1] == "connect"
        await client.close()
        await app.close()
        await eventually(lambda: all(r.statuses[-1] == X for r in recorders))
        for recorder in recorders:
            recorder.stop()
    finally:
        await peers.close()
