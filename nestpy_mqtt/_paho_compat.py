"""Every use of paho's private members, in one module, checked when a connection is built.

The fast path (``_loop_bridge``'s buffered socket and QoS 0 PUBLISH reader/writer) lives under
paho: it swaps paho's socket for a buffered one, reads packets only at a packet boundary, keeps
paho's keepalive clock up to date, and hands parsed messages to paho's callbacks. What it needs
is private, so ``PahoInternals.check`` looks for all of it up front; anything missing (another
paho version) means one warning and paho's own path, never a crash or a silently wrong
keepalive. paho 2.1 calls the receive clock ``_last_msg_in``, 2.2 ``_last_bytes_received``.
MQTT over WebSocket also needs paho's ``_WebsocketWrapper`` internals (the socket under it, and
its buffers, empty after the HTTP upgrade): checked for WebSocket clients only.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from nestpy_mqtt._codec import encode_properties, encode_remaining_length
from nestpy_mqtt.message import MqttMessage, ReceivedMessage

__all__ = [
    "ManualAckClient",
    "PahoInternals",
    "ReceivedProperties",
    "invalid_topic",
    "pack_properties",
    "raw_topic",
    "send_ack",
]

logger = logging.getLogger("nestpy.mqtt.connection")

_RECEIVE_CLOCKS = ("_last_bytes_received", "_last_msg_in")  # paho 2.2, paho 2.1
_MESSAGE_SLOTS = {"timestamp", "state", "dup", "mid", "_topic", "payload", "qos", "retain"}
_warned = False
_PROPERTY_STATE = ("packetType", "types", "names", "properties")  # what Properties() sets up
_WS_STATE = ("connected", "_socket", "_readbuffer", "_sendbuffer", "_payload_head")
"""What ``_WebsocketWrapper.__init__`` sets and ``websocket_socket`` reads (2.1 and 2.2 alike)."""


class ReceivedProperties(Properties):
    """paho ``Properties`` of a received PUBLISH, from the codec's (identifier, value) pairs.

    The same class to its users (attributes, ``names``, ``pack()``, ``json()``...), without
    paho's per-instance set-up (two dicts and a list built for every message) or its
    validating ``__setattr__``: the codec has checked the values as paho's ``unpack`` does.
    """

    _template: ClassVar[dict[str, Any]] = {}
    _attributes: ClassVar[dict[int, str]] = {}

    def __init__(self, pairs: tuple[tuple[int, Any], ...] = ()) -> None:
        state = self.__dict__
        state.update(self._template)
        attributes = self._attributes
        for ident, value in pairs:
            name = attributes[ident]
            if ident == 0x26 or ident == 0x0B:  # repeatable: lists, as paho keeps them
                state.setdefault(name, []).append(value)
            else:
                state[name] = value

    @classmethod
    def prepare(cls) -> str | None:
        """Copy paho's property tables once; what is missing from this paho, or None."""
        try:
            sample = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            template = {name: sample.__dict__[name] for name in _PROPERTY_STATE}
            names: dict[str, int] = template["names"]
        except (KeyError, AttributeError, TypeError):
            return "Properties.__dict__ (packetType, types, names, properties)"
        cls._template = template
        cls._attributes = {ident: name.replace(" ", "") for name, ident in names.items()}
        global _PACK_ORDER
        _PACK_ORDER = tuple((name.replace(" ", ""), ident) for name, ident in names.items())
        return None


_PACK_ORDER: tuple[tuple[str, int], ...] = ()
"""(attribute, identifier) in the order paho's ``Properties.pack()`` writes them."""


def pack_properties(properties: Properties) -> bytes | None:
    """The PUBLISH property block (with its length) paho would write for ``properties``.

    Byte for byte what ``Properties.pack()`` returns, at a fraction of its cost; a block
    packed once already (``PackedProperties``) is reused. None when paho must publish
    itself: a topic alias (paho maps it), or values the codec does not take as they are
    (paho then raises what it always raised).
    """
    state = getattr(properties, "__dict__", None)
    if type(state) is not dict or state.get("packetType") != PacketTypes.PUBLISH:
        return None
    packed = state.get("_packed")
    if packed is not None:
        return packed  # type: ignore[no-any-return]
    if not _PACK_ORDER or "TopicAlias" in state:
        return None
    pairs: list[tuple[int, Any]] = []
    for name, ident in _PACK_ORDER:
        value = state.get(name)
        if value is None:
            continue
        if ident == 0x26 or ident == 0x0B:
            pairs.extend((ident, item) for item in value)
        else:
            pairs.append((ident, value))
    try:
        block = encode_properties(tuple(pairs))
        return encode_remaining_length(len(block)) + block
    except (TypeError, ValueError, AttributeError, IndexError, OverflowError):
        return None


def raw_topic(message: MqttMessage) -> bytes:
    """The topic as received (bytes): ``message.topic`` raises on invalid UTF-8."""
    topic = getattr(message, "_topic", b"")
    return topic if isinstance(topic, bytes) else str(topic).encode()


def invalid_topic(message: MqttMessage) -> bytes | None:
    """The topic's bytes when they are not valid UTF-8, else None."""
    topic = raw_topic(message)
    try:
        topic.decode()
    except UnicodeDecodeError:
        return topic
    return None


class PahoInternals:
    """paho's private members for one client, as the fast path uses them."""

    __slots__ = ("_receive_clock", "client")

    def __init__(self, client: mqtt.Client, receive_clock: str) -> None:
        self.client = client
        self._receive_clock = receive_clock

    @classmethod
    def check(cls, client: mqtt.Client) -> PahoInternals | None:
        """The internals of ``client``, or None (warned once per process) when this paho
        lacks any of them: the caller then runs on paho's own path."""
        problem = _missing(client)
        if problem is None:
            clock = next(name for name in _RECEIVE_CLOCKS if hasattr(client, name))
            return cls(client, clock)
        global _warned
        if not _warned:
            _warned = True
            logger.warning(
                "paho-mqtt %s lacks what nestpy's fast path needs (%s): using paho's own "
                "socket handling, which is correct but slower. Install a paho-mqtt version "
                "nestpy is tested with (see pyproject.toml) to get it back.",
                _paho_version(),
                problem,
            )
        return None

    # socket ----------------------------------------------------------------------------------
    def swap_socket(self, sock: Any, wrapper: Any) -> bool:
        """Make paho use ``wrapper`` instead of ``sock``; False if paho holds another socket."""
        client: Any = self.client
        if getattr(client, "_sock", None) is not sock:
            return False
        client._sock = wrapper
        return True

    def websocket_socket(self, sock: Any) -> socket.socket | None:
        """The TCP or TLS socket under paho's WebSocket wrapper ``sock``, its HTTP upgrade
        done and nothing of a frame read or written; else None (paho keeps its wrapper).

        paho reads the upgrade response a byte at a time, so no frame byte is in its buffer
        then; at ``on_socket_open`` the CONNECT packet is still queued, not written.
        """
        wrapper = getattr(mqtt, "_WebsocketWrapper", None)
        if wrapper is None or type(sock) is not wrapper:
            return None
        state = getattr(sock, "__dict__", {})
        if not all(name in state for name in _WS_STATE):
            return None
        if not sock.connected or sock._readbuffer or sock._sendbuffer or sock._payload_head:
            return None
        inner = sock._socket
        return inner if type(inner) in (socket.socket, ssl.SSLSocket) else None

    def at_packet_boundary(self) -> bool:
        """Whether paho holds no part of an incoming packet (so the next byte starts one)."""
        in_packet = getattr(self.client, "_in_packet", None)
        return in_packet is not None and not in_packet["command"]

    # keepalive clocks (the fast path reads and writes bytes paho never sees) ----------------
    def bytes_sent(self) -> None:
        """Tell paho's keepalive that bytes went out now."""
        self.client._last_msg_out = time.monotonic()

    def bytes_received(self) -> None:
        """Tell paho's keepalive that bytes came in now."""
        setattr(self.client, self._receive_clock, time.monotonic())

    def last_received(self) -> float:
        """When paho's keepalive believes bytes last came in (``time.monotonic()``)."""
        return float(getattr(self.client, self._receive_clock))

    # delivery --------------------------------------------------------------------------------
    def fast_delivery(
        self, on_message: Callable[[Any, Any, MqttMessage], None], mqtt5: bool
    ) -> Callable[[bytes, bytes, int, tuple[tuple[int, Any], ...]], None]:
        """Deliver a QoS 0 PUBLISH the bridge parsed to ``on_message`` as a ``ReceivedMessage``
        (MQTT 5 properties as ``ReceivedProperties``). When per-topic callbacks
        (``message_callback_add``) or another ``on_message`` are installed, it goes through
        paho's dispatch instead, as the ``MQTTMessage`` paho would have built."""
        client: Any = self.client
        filtered = client._on_message_filtered._root._children
        dispatch = client._handle_on_message
        properties = ReceivedProperties if mqtt5 else None

        def deliver(
            topic: bytes, payload: bytes, first: int, pairs: tuple[tuple[int, Any], ...]
        ) -> None:
            if filtered or client._on_message is not on_message:
                props = properties(pairs) if properties is not None else None
                dispatch(_paho_message(topic, payload, first, props))
            else:
                # MQTT 5 properties are made when first read: most handlers never do.
                message = ReceivedMessage(
                    topic, payload, bool(first & 1), bool(first & 8), None, properties, pairs
                )
                on_message(client, None, message)

        return deliver


_RECEIVED_INFO = mqtt.MQTTMessageInfo(0)  # shared: received messages are never waited on


def _paho_message(
    topic: bytes, payload: bytes, first: int, properties: Properties | None
) -> mqtt.MQTTMessage:
    """The ``MQTTMessage`` paho builds for a QoS 0 PUBLISH (without its per-message lock)."""
    message = mqtt.MQTTMessage.__new__(mqtt.MQTTMessage)
    message.timestamp = time.monotonic()
    message.state = mqtt.mqtt_ms_invalid
    message.dup = bool(first & 0x08)
    message.mid = 0
    message._topic = topic
    message.payload = payload
    message.qos = 0
    message.retain = bool(first & 0x01)
    message.info = _RECEIVED_INFO
    message.properties = properties
    return message


def _missing(client: mqtt.Client) -> str | None:
    c: Any = client
    if not hasattr(c, "_sock"):
        return "Client._sock"
    in_packet = getattr(c, "_in_packet", None)
    if not isinstance(in_packet, dict) or "command" not in in_packet:
        return "Client._in_packet['command']"
    if not hasattr(c, "_last_msg_out"):
        return "Client._last_msg_out"
    if not any(hasattr(c, name) for name in _RECEIVE_CLOCKS):
        return "Client._last_bytes_received (2.2) or Client._last_msg_in (2.1)"
    matcher = getattr(c, "_on_message_filtered", None)
    if not isinstance(getattr(getattr(matcher, "_root", None), "_children", None), dict):
        return "Client._on_message_filtered._root._children"
    if not callable(getattr(c, "_handle_on_message", None)) or not hasattr(c, "_on_message"):
        return "Client._handle_on_message"
    if getattr(c, "_transport", None) == "websockets" and (problem := _missing_websocket()):
        return problem
    slots = set(getattr(mqtt.MQTTMessage, "__slots__", ()))
    if not slots >= _MESSAGE_SLOTS:
        return f"MQTTMessage slots {sorted(_MESSAGE_SLOTS - slots)}"
    return ReceivedProperties.prepare()


def _missing_websocket() -> str | None:
    # The wrapper exists only once the HTTP upgrade is done: read what its __init__ sets.
    init = getattr(getattr(mqtt, "_WebsocketWrapper", None), "__init__", None)
    names = set(getattr(getattr(init, "__code__", None), "co_names", ()))
    if missing := [name for name in _WS_STATE if name not in names]:
        return f"_WebsocketWrapper {missing}"
    return None


def _paho_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paho-mqtt")
    except PackageNotFoundError:
        return "?"


class ManualAckClient(mqtt.Client):
    """paho's client with every QoS 1/2 acknowledgement left to ``send_ack``.

    paho's own ``manual_ack`` sends PUBREC at once and delays only PUBCOMP, which loses a
    QoS 2 message when the process dies while handling it, and never completes a PUBREL the
    broker resends after a restart. Here a QoS 2 message is delivered on PUBLISH and
    acknowledged (PUBREC) by ``send_ack``; PUBREL is answered with PUBCOMP at once.
    Decoded as paho 2.1 and 2.2 both do (2.2's ``_packet`` module is not in 2.1).
    """

    def _handle_publish(self) -> MQTTErrorCode:
        in_packet = self._in_packet
        header = in_packet["command"]
        if header & 0x06 != 0x04:  # not QoS 2: paho's way
            return super()._handle_publish()
        packet = bytes(in_packet["packet"])
        (length,) = struct.unpack_from("!H", packet)
        topic = packet[2 : 2 + length]
        (mid,) = struct.unpack_from("!H", packet, 2 + length)
        rest = packet[4 + length :]
        message = mqtt.MQTTMessage(mid=mid, topic=topic)
        message.dup = bool(header & 0x08)
        message.qos = 2
        message.retain = bool(header & 0x01)
        if self._protocol == mqtt.MQTTv5:
            message.properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            _, used = message.properties.unpack(rest)  # type: ignore[no-untyped-call]
            rest = rest[used:]
        message.payload = rest
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_pubrel(self) -> MQTTErrorCode:
        (mid,) = struct.unpack_from("!H", self._in_packet["packet"])
        return self._send_pubcomp(mid)


def send_ack(client: mqtt.Client, mid: int, qos: int) -> None:
    """Acknowledge a received message on a client built with ``manual_ack=True``."""
    if qos == 1:
        client.ack(mid, 1)  # PUBACK
    elif qos == 2:
        client._send_pubrec(mid)
