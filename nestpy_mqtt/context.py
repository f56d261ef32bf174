"""``MqttContext``: what a handler can learn about the message it is handling."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from nestpy.microservices.context import BaseRpcContext
from nestpy_mqtt.properties import properties_to_dict

if TYPE_CHECKING:
    from nestpy_mqtt.ack import PendingAck
    from nestpy_mqtt.message import MqttMessage

__all__ = ["MqttContext", "MqttPacket"]


class MqttPacket:
    """A received PUBLISH, in the shape of Nest's packet with Python names.

    ``topic``, ``payload`` (bytes), ``qos``, ``retain``, ``dup``, ``mid`` and ``properties``:
    the MQTT 5 properties with snake_case names (``properties.user_properties`` is a dict,
    ``properties.response_topic``, ``properties.correlation_data``, ...; unset ones are None).
    ``raw`` is the message as received: a ``ReceivedMessage`` for a QoS 0 PUBLISH that
    nestpy's fast path parsed, paho's ``MQTTMessage`` for the rest (QoS 1/2, topic aliases,
    ``fast_path=False``); both have the attributes above (``properties`` as paho's
    ``Properties``).
    """

    __slots__ = ("_properties", "raw")

    def __init__(self, raw: MqttMessage) -> None:
        self.raw = raw
        self._properties: SimpleNamespace | None = None

    @property
    def topic(self) -> str:
        """The topic the message was published on."""
        return self.raw.topic

    @property
    def payload(self) -> bytes:
        """The payload as received."""
        return bytes(self.raw.payload)

    @property
    def qos(self) -> int:
        """The QoS the message was delivered with."""
        return int(self.raw.qos)

    @property
    def retain(self) -> bool:
        """Whether the message was a retained one."""
        return bool(self.raw.retain)

    @property
    def dup(self) -> bool:
        """The DUP flag."""
        return bool(self.raw.dup)

    @property
    def mid(self) -> int:
        """The packet id (0 for QoS 0)."""
        return int(self.raw.mid)

    @property
    def properties(self) -> SimpleNamespace:
        """MQTT 5 properties by snake_case name; ``user_properties`` is always a dict."""
        if self._properties is None:
            values = properties_to_dict(getattr(self.raw, "properties", None))
            values.setdefault("user_properties", {})
            for name in (
                "response_topic",
                "correlation_data",
                "content_type",
                "message_expiry_interval",
                "payload_format_indicator",
                "subscription_identifier",
                "topic_alias",
            ):
                values.setdefault(name, None)
            self._properties = SimpleNamespace(**values)
        return self._properties

    def __repr__(self) -> str:
        return f"MqttPacket(topic={self.topic!r}, qos={self.qos}, mid={self.mid})"


class MqttContext(BaseRpcContext):
    """The context of one MQTT message (Nest's ``MqttContext``).

    ``get_topic()`` is the concrete topic the message arrived on (a wildcard handler sees
    ``sensors/1/temperature/c``, not its pattern); ``get_packet()`` is the received packet
    (``MqttPacket``: ``.properties.user_properties``, ``.qos``, ``.raw``: the message as
    received).
    ``is_duplicate()`` tells a redelivery; ``ack()`` acknowledges the message under
    ``AckPolicy.MANUAL``.
    """

    __slots__ = ("_ack", "_packet")

    def __init__(self, topic: str, message: MqttMessage, ack: PendingAck | None = None) -> None:
        self.args = (topic, message)  # BaseRpcContext's, set here: one per message
        self._packet: MqttPacket | None = None
        self._ack = ack

    def ack(self) -> None:
        """Acknowledge the message (PUBACK/PUBREC) under ``AckPolicy.MANUAL``; call it once the
        work is safely done, from the handler or later. Acknowledgements leave in arrival
        order, so a message never acknowledged holds back every later one. Idempotent; does
        nothing for QoS 0 or under the other policies (they acknowledge by themselves)."""
        if self._ack is not None:
            self._ack.release()

    def is_duplicate(self) -> bool:
        """Whether the broker marked the message as a redelivery (the DUP flag): an earlier
        copy may have been handled already, before its acknowledgement was sent."""
        return bool(self.args[1].dup)

    def get_topic(self) -> str:
        """The topic the message was delivered on."""
        return str(self.args[0])

    def get_packet(self) -> MqttPacket:
        """The received packet."""
        if self._packet is None:
            self._packet = MqttPacket(self.args[1])
        return self._packet

    @property
    def user_properties(self) -> dict[str, str]:
        """The MQTT 5 user properties of the packet (empty with MQTT 3.1.1)."""
        return dict(self.get_packet().properties.user_properties)

    def __repr__(self) -> str:
        return f"MqttContext(topic={self.args[0]!r})"
