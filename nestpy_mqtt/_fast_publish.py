"""The fast path's QoS 0 PUBLISH reader and writer: split a whole packet at a buffer position
without building objects, and build the headers of an outgoing one. Equal to ``_codec``'s
``decode_publish``/``encode_publish`` wherever they answer; anything unusual returns None and
goes to paho."""

from __future__ import annotations

from typing import Any

from nestpy_mqtt._codec import (
    MAX_REMAINING_LENGTH,
    MalformedPacket,
    decode_properties,
    decode_remaining_length,
    encode_remaining_length,
)

__all__ = [
    "publish_fixed_header",
    "publish_topic_header",
    "split_qos0_publish",
    "split_qos0_publish_v5",
]


def _qos0_publish_bounds(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(start of the variable header, end) of a whole QoS 0 PUBLISH at ``buf[pos]``; None when
    it is another packet, its remaining length is malformed, or it is cut short."""
    if buf[pos] & 0xF6 != 0x30:  # PUBLISH with QoS 0 (DUP and RETAIN may be set)
        return None
    size = len(buf)
    i, length, shift = pos + 1, 0, 0
    while True:
        if i >= size or shift > 21:
            return None
        byte = buf[i]
        i += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    end = i + length
    return None if end > size else (i, end)


def split_qos0_publish(buf: bytes, pos: int, mqtt5: bool) -> tuple[bytes, bytes, int] | None:
    """(topic, payload, end) of a whole, plain QoS 0 PUBLISH at ``buf[pos]``, else None.

    None when the packet is cut short, is not a QoS 0 PUBLISH, has an empty topic (malformed,
    or an MQTT 5 topic alias), MQTT 5 properties, or a malformed header: ``decode_publish``
    (or paho) reads those. The receive hot path; equal to ``decode_publish`` where it answers.
    """
    i = pos + 1
    if i < len(buf) and buf[i] < 0x80 and buf[pos] & 0xF6 == 0x30:  # under 128 bytes: inline
        i += 1
        end = i + buf[i - 1]
        if end > len(buf):
            return None
    else:
        bounds = _qos0_publish_bounds(buf, pos)
        if bounds is None:
            return None
        i, end = bounds
    if end - i < 2:
        return None
    topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
    if topic_end == i + 2 or topic_end > end:
        return None
    start = topic_end
    if mqtt5:
        if topic_end >= end or buf[topic_end] != 0:
            return None
        start += 1
    return buf[i + 2 : topic_end], buf[start:end], end


# What paho delivers as it is: PUBLISH properties without a topic alias (0x23, which
# maps topics per connection), each single-valued one at most once.
_PLAIN_PUBLISH_PROPERTIES = frozenset({0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x26})
_REPEATABLE = frozenset({0x0B, 0x26})


def split_qos0_publish_v5(
    buf: bytes, pos: int
) -> tuple[bytes, tuple[tuple[int, Any], ...], bytes, int] | None:
    """(topic, properties, payload, end) of a whole MQTT 5 QoS 0 PUBLISH at ``buf[pos]``.

    Like ``split_qos0_publish``, with the properties decoded as ``decode_publish`` does. None
    also for anything paho treats specially or refuses, which paho then reads as before: a
    topic alias, a property that is not a PUBLISH one or is repeated, a payload format
    indicator other than 0/1, a subscription identifier of 0, a string holding U+0000 or
    U+FEFF, or malformed properties.
    """
    i = pos + 1
    if i < len(buf) and buf[i] < 0x80 and buf[pos] & 0xF6 == 0x30:  # under 128 bytes: inline
        i += 1
        end = i + buf[i - 1]
        if end > len(buf):
            return None
    else:
        bounds = _qos0_publish_bounds(buf, pos)
        if bounds is None:
            return None
        i, end = bounds
    if end - i < 3:
        return None
    topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
    if topic_end == i + 2 or topic_end >= end:
        return None
    if buf[topic_end] == 0:  # no properties: the common case
        return buf[i + 2 : topic_end], (), buf[topic_end + 1 : end], end
    try:
        header = decode_remaining_length(buf, topic_end)
        if header is None:
            return None
        block, start = header
        if start + block > end:
            return None
        properties = decode_properties(buf[start : start + block])
    except MalformedPacket:
        return None
    if not _plain_properties(properties):
        return None
    return buf[i + 2 : topic_end], properties, buf[start + block : end], end


def _plain_properties(properties: tuple[tuple[int, Any], ...]) -> bool:
    seen: set[int] = set()
    for ident, value in properties:
        if ident not in _PLAIN_PUBLISH_PROPERTIES:
            return False
        if ident in _REPEATABLE:
            if ident == 0x0B and value == 0:
                return False
            if ident == 0x26 and not (_plain_text(value[0]) and _plain_text(value[1])):
                return False
            continue
        if ident in seen:
            return False
        seen.add(ident)
        if (ident == 0x01 and value > 1) or (type(value) is str and not _plain_text(value)):
            return False
    return True


def _plain_text(text: str) -> bool:
    return "\x00" not in text and "\ufeff" not in text


def publish_topic_header(topic: str, mqtt5: bool) -> bytes | None:
    """A QoS 0 PUBLISH's variable header for ``topic`` (MQTT 5: no properties; strip the
    last byte and append packed properties to send some).

    None for what paho refuses or treats specially (empty, wildcards, NUL, too long).
    """
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        return None
    try:
        encoded = topic.encode()
    except UnicodeEncodeError:
        return None
    if len(encoded) > 65535:
        return None
    return len(encoded).to_bytes(2, "big") + encoded + (b"\x00" if mqtt5 else b"")


def publish_fixed_header(retain: bool, remaining: int) -> bytes | None:
    """A QoS 0 PUBLISH's fixed header; None if the packet is too large for MQTT."""
    first = 0x31 if retain else 0x30
    if remaining < 128:  # the common sizes, without the general encoder
        return bytes((first, remaining))
    if remaining < 16_384:
        return bytes((first, (remaining & 0x7F) | 0x80, remaining >> 7))
    if remaining > MAX_REMAINING_LENGTH:
        return None
    return bytes((first,)) + encode_remaining_length(remaining)
