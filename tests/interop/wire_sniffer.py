"""A raw paho-mqtt client that records every PUBLISH on a broker (MQTT 5, subscribed to ``#``).

Used to check the exact bytes that NestJS (and nestpy) put on the wire, and to act as an
external publisher. It subscribes with QoS 2 so that the recorded QoS is the publisher's.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions


@dataclass(frozen=True)
class Captured:
    """One PUBLISH as the sniffer received it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    user_properties: list[tuple[str, str]] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


class WireSniffer:
    """Records every PUBLISH (``#``); ``wait_for(topic)`` returns what arrived on a topic."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self._messages: list[Captured] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sniffer-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, rc: Any, _p: Any
    ) -> None:
        if not rc.is_failure:
            client.subscribe("#", options=SubscribeOptions(qos=2))

    def _on_subscribe(self, *_args: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        props: dict[str, Any] = {}
        user_properties: list[tuple[str, str]] = []
        if msg.properties is not None:
            props = {k: v for k, v in msg.properties.json().items() if k != "UserProperty"}
            user_properties = [tuple(p) for p in getattr(msg.properties, "UserProperty", [])]
        captured = Captured(
            topic=msg.topic,
            payload=bytes(msg.payload),
            qos=msg.qos,
            retain=bool(msg.retain),
            user_properties=user_properties,
            properties=props,
        )
        with self._cond:
            self._messages.append(captured)
            self._cond.notify_all()

    def start(self, timeout: float = 5.0) -> Self:
        self._client.connect(self.host, self.port)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError("the sniffer's subscription to '#' was not acknowledged")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[Captured]:
        with self._cond:
            return list(self._messages)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()

    def on_topic(self, topic: str) -> list[Captured]:
        with self._cond:
            return [m for m in self._messages if m.topic == topic]

    def wait_for(self, topic: str, count: int = 1, timeout: float = 3.0) -> list[Captured]:
        """Wait until ``count`` PUBLISHes arrived on ``topic``; return all of them so far."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self._messages if m.topic == topic]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._cond.wait(remaining)
        if len(found) < count:
            seen = sorted({m.topic for m in self.messages})
            raise AssertionError(
                f"expected {count} PUBLISH on {topic!r}, got {len(found)}; topics seen: {seen}"
            )
        return found

    def settle(self, seconds: float = 0.2) -> None:
        """Give late packets time to arrive (before asserting that something did *not* happen)."""
        time.sleep(seconds)

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 0,
        user_properties: list[tuple[str, str]] | None = None,
    ) -> None:
        """Publish as an external (non-Nest) MQTT client and wait until it was sent."""
        properties = None
        if user_properties:
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = user_properties
        info = self._client.publish(topic, payload, qos=qos, properties=properties)
        info.wait_for_publish(timeout=5)
