"""``MqttRecord`` and ``MqttRecordBuilder``: per-message publish options, as in Nest.

Example::

    record = (
        MqttRecordBuilder(":cat:")
        .set_qos(1)
        .set_retain(False)
        .set_properties(user_properties={"x-version": "1.0.0"})
        .build()
    )
    await client.send("replace-emoji", record)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from nestpy_mqtt.properties import PUBLISH_PROPERTY_NAMES, camel_case, snake_case

__all__ = ["RECORD_PROPERTY_NAMES", "MqttRecord", "MqttRecordBuilder", "MqttRecordOptions"]

T = TypeVar("T")

RECORD_PROPERTY_NAMES = frozenset(PUBLISH_PROPERTY_NAMES)


@dataclass(frozen=True)
class MqttRecordOptions:
    """Publish options of a record; ``None`` means "use the client's default"."""

    qos: int | None = None
    retain: bool | None = None
    dup: bool | None = None
    properties: dict[str, Any] | None = None
    """MQTT 5 PUBLISH properties, snake_case keys (sent only with ``protocol_version=5``)."""


@dataclass(frozen=True)
class MqttRecord(Generic[T]):
    """A payload plus the MQTT options it is published with (Nest's ``MqttRecord``)."""

    data: T
    options: MqttRecordOptions = field(default_factory=MqttRecordOptions)

    def __post_init__(self) -> None:
        # Accept Nest's spelling, MqttRecord(data, {"qos": 1, "properties": {...}}).
        if isinstance(self.options, Mapping):
            object.__setattr__(self, "options", MqttRecordOptions(**self.options))

    def __json__(self) -> dict[str, Any]:
        """How a record is written inside a JSON packet (a handler returning one): as Nest
        writes it, ``{"data": ..., "options": {...}}`` with only the options that were set,
        property names in Nest's camelCase."""
        options: dict[str, Any] = {}
        for name in ("qos", "retain", "dup"):
            value = getattr(self.options, name)
            if value is not None:
                options[name] = value
        if self.options.properties is not None:
            options["properties"] = {camel_case(k): v for k, v in self.options.properties.items()}
        return {"data": self.data, "options": options}


class MqttRecordBuilder(Generic[T]):
    """Fluent builder of ``MqttRecord`` (Nest's ``MqttRecordBuilder``)."""

    def __init__(self, data: T | None = None) -> None:
        self._data = data
        self._options = MqttRecordOptions()

    def set_data(self, data: T) -> MqttRecordBuilder[T]:
        """Set the payload."""
        self._data = data
        return self

    def set_qos(self, qos: int) -> MqttRecordBuilder[T]:
        """Set the QoS, 0, 1 or 2."""
        if qos not in (0, 1, 2):
            msg = f"QoS must be 0, 1 or 2, not {qos!r}"
            raise ValueError(msg)
        self._options = replace(self._options, qos=qos)
        return self

    def set_retain(self, retain: bool) -> MqttRecordBuilder[T]:
        """Set the retain flag."""
        self._options = replace(self._options, retain=bool(retain))
        return self

    def set_dup(self, dup: bool) -> MqttRecordBuilder[T]:
        """Set the dup flag (kept for Nest parity; paho sets DUP itself on resends)."""
        self._options = replace(self._options, dup=bool(dup))
        return self

    def set_properties(
        self, properties: Mapping[str, Any] | None = None, /, **more: Any
    ) -> MqttRecordBuilder[T]:
        """Set MQTT 5 properties, replacing earlier ones, from a dict and/or keywords.

        Names are snake_case or Nest's camelCase: ``payload_format_indicator``,
        ``message_expiry_interval``, ``topic_alias``, ``response_topic``, ``correlation_data``,
        ``user_properties``, ``subscription_identifier``, ``content_type``.
        """
        merged: dict[str, Any] = {}
        for key, value in {**(properties or {}), **more}.items():
            name = snake_case(key)
            if name not in RECORD_PROPERTY_NAMES:
                msg = (
                    f"unknown MQTT record property {key!r}; "
                    f"expected one of {', '.join(sorted(RECORD_PROPERTY_NAMES))}"
                )
                raise ValueError(msg)
            merged[name] = value
        self._options = replace(self._options, properties=merged or None)
        return self

    def build(self) -> MqttRecord[T]:
        """Return the record."""
        return MqttRecord(self._data, self._options)  # type: ignore[arg-type]
