"""Connection options through a microservice and a client on Mosquitto: client id, keepalive,
credentials, last will, and a persistent session that keeps requests for a service."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest
from transport_support import Harness, Sniffer

from nestpy import Controller
from nestpy.microservices import MessagePattern
from nestpy_mqtt import MqttConnectionError, MqttRecordBuilder
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


@Controller()
class EchoController:
    @MessagePattern("echo")
    def echo(self, data: Any) -> Any:
        return data


async def test_client_id_keepalive_and_credentials(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int
) -> None:
    broker = broker_factory(allow_anonymous=False, users={"svc": "s3cret"}).start()
    peers = Harness(broker.url, mqtt_version)
    try:
        auth = {"username": "svc", "password": "s3cret", "keepalive": 15}
        await peers.service(EchoController, client_id="echo-service", **auth)
        client = peers.client(client_id="echo-client", **auth)
        assert await client.send("echo", "hi", timeout=5) == "hi"
        intruder = peers.client(username="svc", password="wrong")
        errors: list[BaseException] = []
        intruder.on("error", errors.append)
        with pytest.raises(MqttConnectionError, match="Not authorized"):
            await intruder.send("echo", "hi", timeout=5)
        assert [type(e) for e in errors] == [MqttConnectionError]
    finally:
        await peers.close()
    log = broker.log()
    version = "p2" if mqtt_version == 4 else "p5"
    for client_id in ("echo-service", "echo-client"):
        assert f"as {client_id} ({version}, c1, k15, u'svc')" in log


async def test_last_will_is_published_when_the_service_drops(
    mqtt_broker: MosquittoBroker, mqtt_version: int
) -> None:
    peers = Harness(mqtt_broker.url, mqtt_version)
    sniffer = await Sniffer(mqtt_broker.url).start()
    try:
        will = {"topic": f"services/echo{mqtt_version}/status", "payload": "offline", "qos": 1}
        app = await peers.service(EchoController, will=will)
        # an unclean drop: the socket dies without DISCONNECT
        app.unwrap().socket().shutdown(socket.SHUT_RDWR)
        [message] = await sniffer.wait(will["topic"])
        assert (message.payload, message.qos) == (b"offline", 1)
    finally:
        await sniffer.close()
        await peers.close()


async def test_persistent_session_keeps_requests_while_the_service_is_away(
    mqtt_broker: MosquittoBroker, mqtt_version: int
) -> None:
    peers = Harness(mqtt_broker.url, mqtt_version)
    session = {
        "client_id": f"persistent-echo-{mqtt_version}",
        "clean_session": False,
        "session_expiry_interval": 60,
        "subscribe_options": {"qos": 1},
    }
    sniffer = await Sniffer(mqtt_broker.url).start()
    try:
        first = await peers.service(EchoController, **session)
        client = peers.client()
        assert await client.send("echo", 0, timeout=5) == 0
        await first.close()  # the broker keeps the session and queues QoS 1 messages
        queued = [
            asyncio.ensure_future(
                client.send("echo", MqttRecordBuilder(n).set_qos(1).build(), timeout=10)
            )
            for n in range(1, 4)
        ]
        await sniffer.wait("echo", 4)  # the broker has them, and nobody serves them
        assert not any(task.done() for task in queued)
        await peers.service(EchoController, **session)
        assert await asyncio.gather(*queued) == [1, 2, 3]
    finally:
        await sniffer.close()
        await peers.close()
        cleanup = Harness(mqtt_broker.url, mqtt_version)  # end the session on the broker
        await cleanup.service(EchoController, **{**session, "clean_session": True})
        await cleanup.close()
