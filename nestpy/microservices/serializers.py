"""Serializers and deserializers, with Nest's names and roles (duck-typed, synchronous).

A **serializer** turns an outgoing packet into the payload: ``serialize(packet, options=None)``
returns ``bytes`` or ``str``. A client serializes ``{"pattern", "data"}`` (events) and
``{"pattern", "data", "id"}`` (requests); a server serializes its replies,
``{"response" | "err", "isDisposed", "id"}``.

A **deserializer** reads an incoming payload: ``deserialize(payload, options=None)`` gets the
payload **as received** (``bytes``; Nest parses JSON first, nestpy leaves that to the
deserializer so that binary formats work) and ``options={"channel": topic}``. A server's
returns ``IncomingRequest`` (or Nest's ``{"pattern", "data", "id"}`` shape: no ``id`` is an
event); a client's returns ``IncomingResponse`` (or ``{"id", "response", "err",
"isDisposed"}``), or None to drop the message.

Built-ins: ``NestSerializer`` / ``NestDeserializer`` (Nest's envelope, the default),
``JsonSerializer`` / ``JsonDeserializer`` (plain JSON, no envelope) and ``RawSerializer`` /
``RawDeserializer`` (bytes as they are). A payload without the envelope carries no request id:
requests then need the transport's own correlation (MQTT 5 Response Topic and Correlation Data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from nestpy.microservices.codec import (
    IncomingRequest,
    IncomingResponse,
    decode_bare,
    decode_request,
    decode_response,
    encode_json,
    encode_response,
)

__all__ = [
    "Deserializer",
    "JsonDeserializer",
    "JsonSerializer",
    "NestDeserializer",
    "NestSerializer",
    "RawDeserializer",
    "RawSerializer",
    "Serializer",
    "payload_bytes",
]


@runtime_checkable
class Serializer(Protocol):
    """``serialize(packet, options=None) -> bytes | str``."""

    def serialize(self, value: Any, options: Mapping[str, Any] | None = None) -> Any:
        """The payload for ``value``."""


@runtime_checkable
class Deserializer(Protocol):
    """``deserialize(payload, options=None)`` -> an incoming request or response."""

    def deserialize(self, value: Any, options: Mapping[str, Any] | None = None) -> Any:
        """The packet read from ``value``."""


def payload_bytes(value: Any, where: str = "serializer") -> bytes:
    """A serializer's output as bytes: ``bytes``-like as is, ``str`` as UTF-8."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    msg = f"the {where} returned {type(value).__name__}; it must return bytes or str"
    raise TypeError(msg)


def _channel(options: Mapping[str, Any] | None) -> str:
    return str((options or {}).get("channel", ""))


def _body(packet: Any) -> Any:
    """The value a packet carries: ``data`` (requests, events), ``err`` or ``response``."""
    if not isinstance(packet, Mapping):
        return packet
    for key in ("data", "err", "response"):
        if key in packet:
            return packet[key]
    return None


class NestSerializer:
    """Nest's ``MqttRecordSerializer``: the packet as ``JSON.stringify`` writes it (default)."""

    def serialize(self, value: Any, options: Mapping[str, Any] | None = None) -> bytes:
        """The payload for ``value``."""
        if isinstance(value, Mapping) and {"response", "err", "isDisposed"} & value.keys():
            return encode_response(
                value.get("id"),
                **{k: value[k] for k in ("response", "err") if k in value},
                is_disposed=bool(value.get("isDisposed")),
            )
        return payload_bytes(encode_json(dict(value) if isinstance(value, Mapping) else value))


class NestDeserializer:
    """Nest's ``IncomingRequestDeserializer`` for servers (default), ``IncomingResponse-
    Deserializer`` for clients (``for_responses=True``)."""

    def __init__(self, *, for_responses: bool = False) -> None:
        self.for_responses = for_responses

    def deserialize(
        self, value: Any, options: Mapping[str, Any] | None = None
    ) -> IncomingRequest | IncomingResponse | None:
        """The packet read from ``value``."""
        if self.for_responses:
            return decode_response(value, _channel(options) or None)
        return decode_request(value, _channel(options))


class JsonSerializer:
    """Plain JSON without the envelope: only the data (or a reply's value) is written."""

    def serialize(self, value: Any, options: Mapping[str, Any] | None = None) -> bytes:
        """The payload for ``value``."""
        return payload_bytes(encode_json(_body(value)))


class JsonDeserializer:
    """Plain JSON without the envelope: the whole value (other text as ``str``) is the data,
    nothing is cropped; an event unless the transport marks the message as a request."""

    def deserialize(self, value: Any, options: Mapping[str, Any] | None = None) -> IncomingRequest:
        """The packet read from ``value``."""
        return decode_bare(value, _channel(options))


class RawSerializer:
    """Raw bytes: the data is published as it is (``bytes``, or ``str`` as UTF-8)."""

    def serialize(self, value: Any, options: Mapping[str, Any] | None = None) -> bytes:
        """The payload for ``value``."""
        body = _body(value)
        if body is None:
            return b""
        return payload_bytes(body, "RawSerializer (the data must be bytes or str)")


class RawDeserializer:
    """Raw bytes: the handler gets the payload as received."""

    def deserialize(self, value: Any, options: Mapping[str, Any] | None = None) -> IncomingRequest:
        """The packet read from ``value``."""
        return IncomingRequest(_channel(options), bytes(value))
