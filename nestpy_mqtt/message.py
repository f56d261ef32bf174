"""``ReceivedMessage``: a QoS 0 PUBLISH parsed by nestpy's fast path, and the protocol it shares
with paho's ``MQTTMessage``.

The connection, server and client read a received message only through ``MqttMessage``:
``topic`` (str; raises ``UnicodeDecodeError`` when the topic is not UTF-8, as paho's does),
``payload``, ``qos``, ``retain``, ``dup``, ``mid`` and ``properties`` (paho ``Properties`` with
MQTT 5, else None). Messages paho parses (QoS 1/2, topic aliases, ``fast_path=False``...)
stay paho's ``MQTTMessage``; the fast path builds a ``ReceivedMessage``.
Both keep the topic's bytes in ``_topic`` (see ``_paho_compat.raw_topic``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from paho.mqtt.properties import Properties

__all__ = ["MqttMessage", "ReceivedMessage"]


class MqttMessage(Protocol):
    """What nestpy reads of a received PUBLISH: paho's ``MQTTMessage`` or a ``ReceivedMessage``."""

    @property
    def topic(self) -> str:
        """The topic, decoded (``UnicodeDecodeError`` when not UTF-8)."""

    @property
    def payload(self) -> bytes | bytearray:
        """The payload as received."""

    @property
    def qos(self) -> int:
        """The QoS it was delivered with."""

    @property
    def retain(self) -> bool:
        """The RETAIN flag."""

    @property
    def dup(self) -> bool:
        """The DUP flag."""

    @property
    def mid(self) -> int:
        """The packet id (0 for QoS 0)."""

    @property
    def properties(self) -> Properties | None:
        """MQTT 5 properties (paho ``Properties``), else None."""


class ReceivedMessage:
    """A received QoS 0 PUBLISH, as nestpy's fast path parsed it (``mid`` is always 0).

    Read like paho's ``MQTTMessage``: ``topic`` decodes the topic bytes (``UnicodeDecodeError``
    when they are not UTF-8), ``properties`` is paho's ``Properties`` with MQTT 5, else None.
    """

    __slots__ = ("_make", "_pairs", "_properties", "_topic", "dup", "payload", "retain")

    qos = 0
    mid = 0

    def __init__(
        self,
        topic: bytes,
        payload: bytes,
        retain: bool = False,
        dup: bool = False,
        properties: Properties | None = None,
        make_properties: Callable[[Any], Properties] | None = None,
        pairs: Any = None,
    ) -> None:
        """``make_properties(pairs)``: the MQTT 5 properties, made when first read (most
        handlers never read them); otherwise ``properties`` as they are."""
        self._topic = topic
        self.payload = payload
        self.retain = retain
        self.dup = dup
        self._properties = properties
        self._make = make_properties
        self._pairs = pairs

    @property
    def properties(self) -> Properties | None:
        """MQTT 5 properties (paho ``Properties``), else None."""
        make = self._make
        if make is not None:
            self._properties = make(self._pairs)
            self._make = None
        return self._properties

    @properties.setter
    def properties(self, value: Properties | None) -> None:
        self._make = None
        self._properties = value

    @property
    def topic(self) -> str:
        """The topic, decoded (raises ``UnicodeDecodeError`` on invalid UTF-8, as paho does)."""
        return self._topic.decode()

    def __repr__(self) -> str:
        return f"ReceivedMessage(topic={self._topic!r}, qos=0, retain={self.retain})"
