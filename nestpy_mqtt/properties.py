"""MQTT 5 properties: plain dicts to and from paho ``Properties``.

Keys may be snake_case (``message_expiry_interval``), Nest's camelCase (``messageExpiryInterval``)
or paho's names (``MessageExpiryInterval``). User properties are a ``dict[str, str]`` (a list of
``(key, value)`` pairs is accepted too). With MQTT 3.1.1 every property is ignored, as MQTT.js
does, and an empty user-property set is never produced (Nest issue #14079).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

__all__ = [
    "ERROR_PROPERTY",
    "PackedProperties",
    "PUBLISH_PROPERTY_NAMES",
    "snake_case",
    "camel_case",
    "UserProperties",
    "PublishPropertiesFactory",
    "merge_user_properties",
    "normalise_user_properties",
    "properties_to_dict",
    "to_properties",
    "user_properties_dict",
]

UserProperties = Mapping[str, str] | Iterable[tuple[str, str]]

PUBLISH_PROPERTY_NAMES = (
    "payload_format_indicator",
    "message_expiry_interval",
    "topic_alias",
    "response_topic",
    "correlation_data",
    "user_properties",
    "subscription_identifier",
    "content_type",
)

ERROR_PROPERTY = "error"
"""The user property (value ``"true"``) that marks an error reply to a bare MQTT 5 request."""

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_SPECIAL = {"user_properties": "UserProperty", "user_property": "UserProperty"}


def snake_case(key: str) -> str:
    """``userProperties`` (Nest's spelling) -> ``user_properties``; snake_case is kept."""
    return key if key.islower() else _CAMEL.sub("_", key).lower()


def camel_case(key: str) -> str:
    """``user_properties`` -> ``userProperties`` (Nest's spelling); camelCase is kept."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _paho_name(key: str) -> str:
    snake = snake_case(key)
    if snake in _SPECIAL:
        return _SPECIAL[snake]
    return "".join(part.capitalize() for part in snake.split("_"))


def _snake_name(paho_name: str) -> str:
    if paho_name == "UserProperty":
        return "user_properties"
    return _CAMEL.sub("_", paho_name).lower()


def normalise_user_properties(value: UserProperties | None) -> dict[str, str]:
    """Return user properties as a ``dict[str, str]`` (pairs accepted; values made strings)."""
    if value is None:
        return {}
    items = value.items() if isinstance(value, Mapping) else value
    return {str(k): str(v) for k, v in items}


def merge_user_properties(
    client: UserProperties | None, record: UserProperties | None
) -> dict[str, str] | None:
    """Merge client-wide and per-record user properties; the record wins on a key clash.

    Returns ``None`` rather than an empty dict, so that no empty set is ever sent.
    """
    merged = normalise_user_properties(client)
    merged.update(normalise_user_properties(record))
    return merged or None


def to_properties(packet_type: int, values: Mapping[str, Any] | None) -> Properties | None:
    """Build paho ``Properties`` for ``packet_type`` (``PacketTypes.PUBLISH``...) from a dict.

    ``None`` values and empty user properties are skipped; ``None`` is returned when nothing is
    left. Unknown names or values invalid for the packet type raise ``ValueError``.
    """
    if not values:
        return None
    props = Properties(packet_type)  # type: ignore[no-untyped-call]
    empty = True
    for key, value in values.items():
        if value is None:
            continue
        name = _paho_name(key)
        if name == "UserProperty":
            pairs = normalise_user_properties(value)
            if not pairs:
                continue
            value = list(pairs.items())
        elif name == "CorrelationData" and isinstance(value, str):
            value = value.encode()
        try:
            setattr(props, name, value)
        except Exception as exc:  # paho raises MQTTException or TypeError
            msg = f"invalid MQTT 5 property {key}={value!r}: {exc}"
            raise ValueError(msg) from None
        empty = False
    return None if empty else props


def properties_to_dict(props: Properties | None) -> dict[str, Any]:
    """Return the properties that are set, snake_case keys, user properties as a dict."""
    if props is None:
        return {}
    out: dict[str, Any] = {}
    for name in props.names:
        attr = name.replace(" ", "")
        if hasattr(props, attr):
            value = getattr(props, attr)
            out[_snake_name(attr)] = dict(value) if attr == "UserProperty" else value
    return out


def user_properties_dict(props: Properties | None) -> dict[str, str]:
    """Return the user properties of a packet as a dict (the last value wins on a repeat)."""
    pairs = getattr(props, "UserProperty", None) if props is not None else None
    return dict(pairs) if pairs else {}


class PackedProperties(Properties):
    """PUBLISH properties packed once: paho packs them again on every publish (5 us each),
    and the fast path reuses the packed block. Do not change them after building."""

    def __init__(self, source: Properties) -> None:
        super().__init__(source.packetType)  # type: ignore[no-untyped-call]
        for name in source.names:
            attr = name.replace(" ", "")
            if hasattr(source, attr):
                setattr(self, attr, getattr(source, attr))
        object.__setattr__(self, "_packed", source.pack())  # type: ignore[no-untyped-call]

    def pack(self) -> bytes:
        """The block packed when built."""
        packed: bytes = self.__dict__["_packed"]
        return packed


class PublishPropertiesFactory:
    """Builds PUBLISH properties for one connection: client-wide user properties + record ones.

    The common case, a record without properties, reuses one prebuilt ``Properties`` object
    (or ``None``), so publishing costs no property encoding set-up per message.
    """

    def __init__(self, protocol_version: int, client_user_properties: UserProperties | None):
        self.enabled = protocol_version == 5
        self._client_user = normalise_user_properties(client_user_properties)
        default = (
            to_properties(PacketTypes.PUBLISH, {"user_properties": self._client_user})
            if self.enabled
            else None
        )
        self._default = PackedProperties(default) if default is not None else None

    @property
    def default(self) -> Properties | None:
        """The properties of a publish with no record properties (``None`` on 3.1.1)."""
        return self._default

    def build(self, record_properties: Mapping[str, Any] | None) -> Properties | None:
        """Return the properties for a publish carrying ``record_properties``."""
        if not self.enabled:
            return None
        if not record_properties:
            return self._default
        values = dict(record_properties)
        record_user: UserProperties | None = None
        for key in ("user_properties", "userProperties", "UserProperty"):
            if key in values:
                record_user = values.pop(key)
        values["user_properties"] = merge_user_properties(self._client_user, record_user)
        return to_properties(PacketTypes.PUBLISH, values)
