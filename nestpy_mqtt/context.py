"""``MqttContext``: what a handler can learn about the message it is handling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paho.mqtt.client import MQTTMessage

__all__ = ["MqttContext"]


class MqttContext:
    """The context of one MQTT message (Nest's ``MqttContext``).

    ``get_topic()`` is the concrete topic the message arrived on (a wildcard handler sees
    ``sensors/1/temperature/c``, not its pattern); ``get_packet()`` is paho's ``MQTTMessage``:
    ``.payload``, ``.qos``, ``.retain``, ``.mid`` and, with MQTT 5, ``.properties``
    (``.properties.UserProperty``, ``.ResponseTopic``, ``.CorrelationData``...).
    """

    __slots__ = ("_args",)

    def __init__(self, topic: str, packet: MQTTMessage) -> None:
        self._args: tuple[str, MQTTMessage] = (topic, packet)

    def get_topic(self) -> str:
        """Return the topic the message was delivered on."""
        return self._args[0]

    def get_packet(self) -> MQTTMessage:
        """Return the received packet (paho's ``MQTTMessage``)."""
        return self._args[1]

    def get_args(self) -> tuple[str, MQTTMessage]:
        """Return ``(topic, packet)``, as Nest's ``BaseRpcContext.getArgs()``."""
        return self._args

    def get_arg_by_index(self, index: int) -> Any:
        """Return one of ``get_args()``; ``None`` when out of range, as in Nest."""
        return self._args[index] if 0 <= index < len(self._args) else None

    @property
    def user_properties(self) -> dict[str, str]:
        """The MQTT 5 user properties of the packet as a dict (empty with MQTT 3.1.1)."""
        props = getattr(self._args[1], "properties", None)
        pairs = getattr(props, "UserProperty", None) if props is not None else None
        return dict(pairs) if pairs else {}

    def __repr__(self) -> str:
        return f"MqttContext(topic={self._args[0]!r})"
