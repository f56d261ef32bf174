"""A sans-I/O MQTT codec: bytes in, whole packets out; PUBLISH packets to bytes and back.

The one place besides paho that knows MQTT framing (3.1.1 and 5.0). It reads no socket and
imports no paho: ``PacketReader.feed`` takes whatever bytes arrived and returns every packet
they complete; ``decode_publish``/``encode_publish`` turn a PUBLISH into a ``Publish`` and
back, MQTT 5 properties included. The bridge's QoS 0 fast path (``_fast_publish``) reads and
writes the common packet that ``decode_publish`` would accept too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_REMAINING_LENGTH",
    "MalformedPacket",
    "Packet",
    "PacketReader",
    "Publish",
    "decode_properties",
    "decode_publish",
    "decode_remaining_length",
    "encode_properties",
    "encode_publish",
    "encode_remaining_length",
]

MAX_REMAINING_LENGTH = 268_435_455
PUBLISH = 3


class MalformedPacket(ValueError):
    """The bytes are not a valid MQTT packet (the connection should be closed)."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One whole control packet: the fixed header's first byte and the rest (``body``)."""

    first: int
    body: bytes

    @property
    def type(self) -> int:
        """The control packet type (3 = PUBLISH)."""
        return self.first >> 4


@dataclass(frozen=True, slots=True)
class Publish:
    """A PUBLISH packet. ``topic`` stays bytes: a peer may send invalid UTF-8."""

    topic: bytes
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    mid: int = 0
    properties: tuple[tuple[int, Any], ...] = ()
    """MQTT 5 properties in wire order, as (identifier, value) pairs; user properties are
    (0x26, (name, value))."""


# remaining length -----------------------------------------------------------------------------
def encode_remaining_length(length: int) -> bytes:
    """The variable byte integer for ``length`` (1 to 4 bytes)."""
    if not 0 <= length <= MAX_REMAINING_LENGTH:
        msg = f"remaining length {length} is outside MQTT's 0..{MAX_REMAINING_LENGTH}"
        raise ValueError(msg)
    out = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        if not length:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def decode_remaining_length(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """(value, position after it) of the variable byte integer at ``buf[pos]``.

    None when ``buf`` ends inside it; ``MalformedPacket`` when it runs past 4 bytes.
    """
    value = shift = 0
    size = len(buf)
    while True:
        if pos >= size:
            return None
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 21:
            msg = "remaining length longer than 4 bytes"
            raise MalformedPacket(msg)


# framing --------------------------------------------------------------------------------------
class PacketReader:
    """Collects bytes as they arrive and returns the packets they complete, in order."""

    __slots__ = ("_buf", "max_packet_size")

    def __init__(self, max_packet_size: int = MAX_REMAINING_LENGTH) -> None:
        self._buf = bytearray()
        self.max_packet_size = max_packet_size

    @property
    def pending(self) -> int:
        """How many bytes of an unfinished packet are held."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Packet]:
        """Every packet completed by ``data``; ``MalformedPacket`` on an invalid header.

        After ``MalformedPacket`` the stream cannot be resynchronised: close the connection.
        """
        buf = self._buf
        buf += data
        packets: list[Packet] = []
        pos = 0
        size = len(buf)
        while pos < size:
            header = decode_remaining_length(buf, pos + 1)
            if header is None:
                break
            length, start = header
            if length > self.max_packet_size:
                msg = f"packet of {length} bytes exceeds the limit of {self.max_packet_size}"
                raise MalformedPacket(msg)
            end = start + length
            if end > size:
                break
            packets.append(Packet(buf[pos], bytes(buf[start:end])))
            pos = end
        if pos:
            del buf[:pos]
        return packets


# PUBLISH --------------------------------------------------------------------------------------
def decode_publish(first: int, body: bytes, mqtt5: bool) -> Publish:
    """The PUBLISH whose first byte is ``first`` and the rest ``body``; else ``MalformedPacket``."""
    if first >> 4 != PUBLISH:
        msg = f"not a PUBLISH packet (type {first >> 4})"
        raise MalformedPacket(msg)
    qos = (first >> 1) & 0x03
    if qos == 3:
        msg = "PUBLISH with QoS 3"
        raise MalformedPacket(msg)
    topic, pos = _binary(body, 0, "topic")
    mid = 0
    if qos:
        if pos + 2 > len(body):
            msg = "PUBLISH cut short in its packet identifier"
            raise MalformedPacket(msg)
        mid = (body[pos] << 8) | body[pos + 1]
        pos += 2
        if mid == 0:
            msg = "PUBLISH with QoS > 0 and packet identifier 0"
            raise MalformedPacket(msg)
    properties: tuple[tuple[int, Any], ...] = ()
    if mqtt5:
        header = decode_remaining_length(body, pos)
        if header is None:
            msg = "PUBLISH cut short in its property length"
            raise MalformedPacket(msg)
        length, pos = header
        if pos + length > len(body):
            msg = "PUBLISH properties run past the packet"
            raise MalformedPacket(msg)
        properties = decode_properties(body[pos : pos + length])
        pos += length
    return Publish(topic, body[pos:], qos, bool(first & 0x01), bool(first & 0x08), mid, properties)


def encode_publish(message: Publish, mqtt5: bool) -> bytes:
    """The whole PUBLISH packet for ``message``."""
    first = 0x30 | (message.qos << 1) | (0x08 if message.dup else 0) | int(message.retain)
    variable = bytearray(_pack_binary(message.topic))
    if message.qos:
        variable += message.mid.to_bytes(2, "big")
    if mqtt5:
        props = encode_properties(message.properties)
        variable += encode_remaining_length(len(props)) + props
    elif message.properties:
        msg = "MQTT 3.1.1 has no properties"
        raise ValueError(msg)
    remaining = len(variable) + len(message.payload)
    return bytes((first,)) + encode_remaining_length(remaining) + variable + message.payload


# MQTT 5 properties ----------------------------------------------------------------------------
_BYTE, _TWO, _FOUR, _VARINT, _UTF8, _BINARY, _PAIR = range(7)
_PROPERTY_TYPES = {
    0x01: _BYTE,  # payload format indicator
    0x02: _FOUR,  # message expiry interval
    0x03: _UTF8,  # content type
    0x08: _UTF8,  # response topic
    0x09: _BINARY,  # correlation data
    0x0B: _VARINT,  # subscription identifier
    0x11: _FOUR,  # session expiry interval
    0x12: _UTF8,  # assigned client identifier
    0x13: _TWO,  # server keep alive
    0x15: _UTF8,  # authentication method
    0x16: _BINARY,  # authentication data
    0x17: _BYTE,  # request problem information
    0x18: _FOUR,  # will delay interval
    0x19: _BYTE,  # request response information
    0x1A: _UTF8,  # response information
    0x1C: _UTF8,  # server reference
    0x1F: _UTF8,  # reason string
    0x21: _TWO,  # receive maximum
    0x22: _TWO,  # topic alias maximum
    0x23: _TWO,  # topic alias
    0x24: _BYTE,  # maximum QoS
    0x25: _BYTE,  # retain available
    0x26: _PAIR,  # user property
    0x27: _FOUR,  # maximum packet size
    0x28: _BYTE,  # wildcard subscription available
    0x29: _BYTE,  # subscription identifier available
    0x2A: _BYTE,  # shared subscription available
}
_WIDTHS = {_BYTE: 1, _TWO: 2, _FOUR: 4}


def decode_properties(raw: bytes) -> tuple[tuple[int, Any], ...]:
    """The properties in ``raw`` (the block after its length) as (identifier, value) pairs."""
    out: list[tuple[int, Any]] = []
    pos, size = 0, len(raw)
    while pos < size:
        ident = raw[pos]
        kind = _PROPERTY_TYPES.get(ident)
        if kind is None:
            msg = f"unknown MQTT 5 property identifier 0x{ident:02x}"
            raise MalformedPacket(msg)
        pos += 1
        value: Any
        if kind in _WIDTHS:
            width = _WIDTHS[kind]
            if pos + width > size:
                msg = f"property 0x{ident:02x} cut short"
                raise MalformedPacket(msg)
            value = int.from_bytes(raw[pos : pos + width], "big")
            pos += width
        elif kind == _VARINT:
            header = decode_remaining_length(raw, pos)
            if header is None:
                msg = f"property 0x{ident:02x} cut short"
                raise MalformedPacket(msg)
            value, pos = header
        elif kind == _BINARY:
            value, pos = _binary(raw, pos, f"property 0x{ident:02x}")
        elif kind == _UTF8:
            data, pos = _binary(raw, pos, f"property 0x{ident:02x}")
            value = _utf8(data, ident)
        else:
            name, pos = _binary(raw, pos, "user property name")
            data, pos = _binary(raw, pos, "user property value")
            value = (_utf8(name, ident), _utf8(data, ident))
        out.append((ident, value))
    return tuple(out)


def encode_properties(properties: tuple[tuple[int, Any], ...]) -> bytes:
    """The property block (without its length) for (identifier, value) pairs."""
    out = bytearray()
    for ident, value in properties:
        kind = _PROPERTY_TYPES.get(ident)
        if kind is None:
            msg = f"unknown MQTT 5 property identifier 0x{ident:02x}"
            raise ValueError(msg)
        out.append(ident)
        if kind in _WIDTHS:
            out += int(value).to_bytes(_WIDTHS[kind], "big")
        elif kind == _VARINT:
            out += encode_remaining_length(value)
        elif kind == _BINARY:
            out += _pack_binary(bytes(value))
        elif kind == _UTF8:
            out += _pack_binary(value.encode())
        else:
            out += _pack_binary(value[0].encode()) + _pack_binary(value[1].encode())
    return bytes(out)


def _binary(buf: bytes, pos: int, what: str) -> tuple[bytes, int]:
    if pos + 2 > len(buf):
        msg = f"packet cut short in the length of its {what}"
        raise MalformedPacket(msg)
    end = pos + 2 + ((buf[pos] << 8) | buf[pos + 1])
    if end > len(buf):
        msg = f"the {what} runs past the packet"
        raise MalformedPacket(msg)
    return bytes(buf[pos + 2 : end]), end


def _utf8(data: bytes, ident: int) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        msg = f"property 0x{ident:02x} is not valid UTF-8: {data!r}"
        raise MalformedPacket(msg) from None


def _pack_binary(data: bytes) -> bytes:
    if len(data) > 65535:
        msg = f"a string or binary field of {len(data)} bytes exceeds MQTT's 65,535"
        raise ValueError(msg)
    return len(data).to_bytes(2, "big") + data
