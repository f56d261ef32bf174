"""Helpers of the ``test_transport_*.py`` files: apps and clients on a private Mosquitto, a
wire sniffer, and the broker-log view of what a client sent (SUBSCRIBE/UNSUBSCRIBE/PUBLISH)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from nestpy import Module
from nestpy.microservices import ClientProxyFactory, NestMicroservice, Transport
from nestpy.microservices.microservice import create_microservice
from nestpy_mqtt import ClientMqtt, MqttOptions
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError

FAST = {"reconnect_min_delay": 0.05, "reconnect_max_delay": 0.2}


def wire_facts() -> ModuleType:
    """``tests/interop/nest_wire_facts.py``: what Nest 12 was observed to publish."""
    name = "nest_wire_facts"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "interop" / "nest_wire_facts.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> None:
    """Wait until ``check()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def make_module(
    controllers: Sequence[type] = (), providers: Sequence[Any] = (), imports: Sequence[Any] = ()
) -> type:
    """A fresh application module."""
    root = type("AppModule", (), {"__module__": __name__})
    module: type = Module(controllers=controllers, providers=providers, imports=imports)(root)
    return module


class Harness:
    """Starts services and clients on one broker and closes all of them at the end."""

    def __init__(self, url: str, protocol_version: int = 4) -> None:
        self.url = url
        self.protocol_version = protocol_version
        self.apps: list[NestMicroservice] = []
        self._clients: list[ClientMqtt] = []

    def options(self, **overrides: Any) -> MqttOptions:
        """Options for this broker and protocol version, with fast reconnects."""
        values = {"url": self.url, "protocol_version": self.protocol_version, **FAST}
        return MqttOptions(**{**values, **overrides})

    async def app(
        self,
        module: type,
        *,
        listen: bool = True,
        server: dict[str, Any] | None = None,
        **options: Any,
    ) -> NestMicroservice:
        """A microservice of ``module`` (listening unless ``listen=False``); ``server`` holds
        server options (``max_concurrency``, ``drain_timeout``: 2 s here)."""
        app = await create_microservice(
            module,
            transport=Transport.MQTT,
            options=self.options(**options),
            **{"drain_timeout": 2.0, **(server or {})},
        )
        self.apps.append(app)
        if listen:
            await app.listen()
        return app

    async def service(
        self, *controllers: type, providers: Sequence[Any] = (), **options: Any
    ) -> NestMicroservice:
        """A listening microservice made of ``controllers`` (and ``providers``)."""
        return await self.app(make_module(controllers, providers), **options)

    def client(self, **options: Any) -> ClientMqtt:
        """A new (not yet connected) client."""
        client = ClientProxyFactory.create(
            transport=Transport.MQTT, options=self.options(**options)
        )
        assert isinstance(client, ClientMqtt)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        """Close every client, then every app."""
        for client in self._clients:
            await client.close()
        for app in self.apps:
            await app.close()


@dataclass(frozen=True)
class Captured:
    """One PUBLISH as the sniffer received it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    user_properties: list[tuple[str, str]] = field(default_factory=list)


class Sniffer:
    """An MQTT 5 connection subscribed to ``#`` with QoS 2: records every PUBLISH as sent.

    Also an external publisher (``publish``), like a device or a non-Nest service.
    """

    def __init__(self, url: str) -> None:
        self.messages: list[Captured] = []
        self.connection = MqttConnection(
            MqttOptions(url=url, protocol_version=5, **FAST), on_message=self._record
        )

    def _record(self, message: Any) -> None:
        props = getattr(message, "properties", None)
        user = [tuple(p) for p in getattr(props, "UserProperty", [])] if props else []
        self.messages.append(
            Captured(message.topic, bytes(message.payload), message.qos, bool(message.retain), user)
        )

    async def start(self) -> Sniffer:
        await self.connection.connect()
        await self.connection.subscribe("#", qos=2)
        return self

    async def close(self) -> None:
        await self.connection.close()

    def on(self, topic: str) -> list[Captured]:
        """Everything published on ``topic`` so far."""
        return [m for m in self.messages if m.topic == topic]

    async def wait(self, topic: str, count: int = 1, timeout: float = 5.0) -> list[Captured]:
        """Wait for ``count`` messages on ``topic``; return them."""
        await eventually(lambda: len(self.on(topic)) >= count, timeout)
        return self.on(topic)

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish as an external client (waits for the PUBACK)."""
        await self.connection.publish_and_wait(topic, payload, qos=qos)


_LOG_RECEIVED = re.compile(r"^\d+: Received (SUBSCRIBE|UNSUBSCRIBE|PUBLISH) from (\S+)(.*)$")
_LOG_PUBLISH = re.compile(r"^ \(d\d, q(\d), r\d, m\d+, '(.*)', \.\.\. \(\d+ bytes\)\)$")
_LOG_TOPIC = re.compile(r"^\d+: \t(.*?)(?: \(QoS (\d)\))?$")


def logging_broker() -> MosquittoBroker:
    """A private broker that logs every packet (for ``client_packets``); not started."""
    try:
        return MosquittoBroker(extra_config=["log_type all"])
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))


def client_packets(broker: MosquittoBroker, client_id: str) -> list[tuple[str, str, int | None]]:
    """What ``broker`` (with ``log_type all``) received from ``client_id``, in order.

    One ``(kind, topic, qos)`` per PUBLISH and per topic of a SUBSCRIBE / UNSUBSCRIBE (``qos``
    is None for UNSUBSCRIBE).
    """
    packets: list[tuple[str, str, int | None]] = []
    current: str | None = None
    for line in broker.log().splitlines():
        received = _LOG_RECEIVED.match(line)
        if received:
            kind, sender, rest = received.groups()
            current = None
            if sender != client_id:
                continue
            if kind == "PUBLISH" and (publish := _LOG_PUBLISH.match(rest)):
                packets.append(("PUBLISH", publish.group(2), int(publish.group(1))))
            elif kind != "PUBLISH":
                current = kind
            continue
        topic = _LOG_TOPIC.match(line)
        if current and topic:
            qos = topic.group(2)
            packets.append((current, topic.group(1), int(qos) if qos is not None else None))
        else:
            current = None
    return packets


def subscriptions(broker: MosquittoBroker, client_id: str) -> list[tuple[str, int | None]]:
    """The ``(topic, qos)`` of each SUBSCRIBE ``client_id`` sent, in order."""
    return [(t, q) for kind, t, q in client_packets(broker, client_id) if kind == "SUBSCRIBE"]


def dynsec_broker(
    make: Callable[..., MosquittoBroker], username: str, password: str, *, deny: str
) -> MosquittoBroker:
    """A started broker whose dynamic-security plugin refuses subscriptions to ``deny`` for
    ``username`` (an ``acl_file`` only filters deliveries; it never refuses a SUBSCRIBE)."""
    plugin = next(
        (
            path
            for path in (
                Path(d) / "mosquitto_dynamic_security.so"
                for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")
            )
            if path.exists()
        ),
        None,
    )
    if plugin is None:
        pytest.skip("mosquitto_dynamic_security.so not found")
    broker = make(
        allow_anonymous=False,
        extra_config=[
            f"plugin {plugin}",
            "plugin_opt_config_file {dir}/dynsec.json",
            "log_type all",
        ],
    )
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    allow_all = ("publishClientSend", "publishClientReceive", "subscribe", "unsubscribe")
    config = {
        "defaultACLAccess": dict.fromkeys(allow_all, True),
        "clients": [
            {
                "username": username,
                "password": base64.b64encode(digest).decode(),
                "salt": base64.b64encode(salt).decode(),
                "iterations": 101,
                "roles": [{"rolename": "limited"}],
            }
        ],
        "groups": [],
        "roles": [
            {
                "rolename": "limited",
                "acls": [
                    {"acltype": "subscribePattern", "topic": deny, "priority": 0, "allow": False}
                ],
            }
        ],
    }
    (broker.directory / "dynsec.json").write_text(json.dumps(config))
    return broker.start()


# Fixtures shared by the transport, fault and bad-input tests (conftests import them).


@pytest.fixture
async def harness(mqtt_broker: MosquittoBroker, mqtt_version: int) -> AsyncIterator[Harness]:
    """Services and clients on the session broker, closed after the test."""
    peers = Harness(mqtt_broker.url, mqtt_version)
    try:
        yield peers
    finally:
        await peers.close()


@pytest.fixture
async def sniffer(mqtt_broker: MosquittoBroker) -> AsyncIterator[Sniffer]:
    """A raw paho subscriber to every topic of the session broker."""
    spy = await Sniffer(mqtt_broker.url).start()
    try:
        yield spy
    finally:
        await spy.close()
