"""Plain paho-mqtt peers for the payload-format tests: a device, or a plain MQTT 5 caller."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from transport_support import eventually


@dataclass(frozen=True)
class Received:
    """One PUBLISH a peer received."""

    topic: str
    payload: bytes
    qos: int
    correlation_data: bytes | None = None
    user_properties: dict[str, str] = field(default_factory=dict)


class PahoPeer:
    """A paho client on its own network thread (``loop_start``): nothing of nestpy's."""

    def __init__(self, url: str, protocol_version: int = 5) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self.v5 = protocol_version == 5
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"peer-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
        )
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        props = getattr(message, "properties", None)
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        user = dict(getattr(props, "UserProperty", []) or []) if props is not None else {}
        with self._lock:
            self.received.append(
                Received(message.topic, bytes(message.payload), message.qos, correlation, user)
            )

    async def start(self, *subscriptions: str) -> PahoPeer:
        """Connect; subscribe ``subscriptions`` (QoS 1) and wait for the SUBACK."""
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        await eventually(self.client.is_connected)
        for topic in subscriptions:
            self._subscribed.clear()
            self.client.subscribe(topic, 1)
            await eventually(self._subscribed.is_set)
        return self

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
        qos: int = 1,
    ) -> None:
        """Publish as a device or a plain MQTT 5 caller."""
        properties = None
        if response_topic is not None or correlation_data is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if response_topic is not None:
                properties.ResponseTopic = response_topic
            if correlation_data is not None:
                properties.CorrelationData = correlation_data
        self.client.publish(topic, payload, qos, properties=properties).wait_for_publish(5)

    def on(self, topic: str) -> list[Received]:
        """What arrived on ``topic`` so far."""
        with self._lock:
            return [m for m in self.received if m.topic == topic]

    async def wait(self, topic: str, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """Wait for ``count`` messages on ``topic``."""
        await eventually(lambda: len(self.on(topic)) >= count, timeout)
        return self.on(topic)

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()
