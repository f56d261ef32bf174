"""Nest's JSON packets, encoded and decoded byte for byte as ``@nestjs/microservices`` does.

Requests are ``{"pattern":P,"data":D,"id":I}``, events ``{"pattern":P,"data":D}``, replies
``{"response":V,"isDisposed":true,"id":I}`` or ``{"err":E,"isDisposed":true,"id":I}`` (key order
matters to byte-level compatibility and is kept). JSON is written the way ``JSON.stringify``
writes it: no spaces, non-ASCII characters as they are.

Packets are written and read by orjson wherever it gives what the standard library's ``json``
gives (``json_bytes``, ``decode_json``), and by ``json`` for the rest: non-string keys,
integers beyond 64 bits, lone surrogates, NaN literals, BOMs and other encodings. The one
visible difference is how a float is spelled, never its value: orjson writes ``0.00001`` and
``1e-7`` where ``json`` writes ``1e-05`` and ``1e-07`` (``JSON.stringify`` writes orjson's).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final
from uuid import UUID

import orjson
from pydantic import BaseModel

logger = logging.getLogger("nestpy.microservices")

NO_MESSAGE_HANDLER: Final = "There is no matching message handler defined in the remote service."


def _to_jsonable(value: Any) -> Any:
    custom = getattr(type(value), "__json__", None)
    if custom is not None:  # the object says how it is written (e.g. ``MqttRecord``)
        return custom(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Enum):  # as orjson writes them
        return value.value
    if isinstance(value, UUID):
        return str(value)
    msg = f"Object of type {type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_to_jsonable
)
_NON_FINITE = "Out of range float values are not JSON compliant"
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def _finite(value: Any) -> Any:
    """``value`` with NaN and ±Infinity replaced by None, as ``JSON.stringify`` writes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_finite_key(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_finite(v) for v in value]
    if value is None or isinstance(value, str | int):
        return value
    return _finite(_to_jsonable(value))


def _finite_key(key: Any) -> Any:
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if math.isnan(key) else ("Infinity" if key > 0 else "-Infinity")
    return key


_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # None without the C part
_encode_str = json.encoder.encode_basestring


def _encode(value: Any) -> str:
    """``_encoder.encode(value)``, without the Python layers it goes through to its C encoder
    (the C encoder is made here as ``iterencode`` makes it: fresh markers for each call)."""
    if _make_c_encoder is None or isinstance(value, str):
        return _encoder.encode(value)
    encode = _make_c_encoder({}, _to_jsonable, _encode_str, None, ":", ",", False, False, False)
    return "".join(encode(value, 0))


def encode_json(value: Any) -> str:
    """``JSON.stringify(value)``: no spaces, non-ASCII as is, NaN and ±Infinity as ``null``."""
    try:
        return _encode(value)
    except ValueError as exc:
        # Python would write NaN/Infinity, which is not JSON: Nest could not parse the packet.
        if not str(exc).startswith(_NON_FINITE):
            raise
        return _encoder.encode(_finite(value))


def _surrogate(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 2:  # a UTF-16 pair split in two code points: one character, as in JS
        high, low = ord(text[0]), ord(text[1])
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return f"\\u{ord(text):04x}"


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Lone surrogates (only possible inside JSON strings): escaped as JSON.stringify does.
        return _SURROGATES.sub(_surrogate, text).encode()


# Dataclasses and datetimes reach _to_jsonable as they do with json (orjson would write them
# its own way); Enum and UUID orjson writes as _to_jsonable does.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def json_bytes(value: Any) -> bytes:
    """``encode_json(value)`` as UTF-8, lone surrogates escaped as ``JSON.stringify`` does.

    orjson writes it (about 15 times faster) unless it cannot write it as ``json`` would:
    then ``json`` does, with the same result or the same exception as ``encode_json``.
    """
    try:
        return orjson.dumps(value, default=_to_jsonable, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _to_bytes(encode_json(value))


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()
"""Marks a packet field that is absent (JavaScript's ``undefined``), as opposed to ``null``."""


def encode_request(pattern: Any, data: Any, request_id: str) -> bytes:
    """A request packet: ``{"pattern":...,"data":...,"id":...}``."""
    return json_bytes({"pattern": pattern, "data": data, "id": request_id})


def encode_event(pattern: Any, data: Any) -> bytes:
    """An event packet: ``{"pattern":...,"data":...}`` (no ``id``)."""
    return json_bytes({"pattern": pattern, "data": data})


def encode_response(
    request_id: Any, *, response: Any = MISSING, err: Any = MISSING, is_disposed: bool = False
) -> bytes:
    """A reply packet; absent fields are left out as ``JSON.stringify`` leaves out undefined."""
    packet: dict[str, Any] = {}
    if response is not MISSING:
        packet["response"] = response
    if err is not MISSING:
        packet["err"] = err
    if is_disposed:
        packet["isDisposed"] = True
    packet["id"] = request_id
    return json_bytes(packet)


def encode_no_handler(request_id: Any) -> bytes:
    """Nest's reply to a request whose topic matches no handler."""
    return json_bytes({"id": request_id, "status": "error", "err": NO_MESSAGE_HANDLER})


@dataclass(slots=True)
class IncomingRequest:
    """A decoded request or event; ``id`` is None for events. ``raw`` is the payload as
    received when it was decoded without Nest's envelope (for handlers that ask for bytes)."""

    pattern: Any
    data: Any
    id: Any = None
    raw: bytes | None = None


_RAW_TYPES = (bytes, bytearray)
_LONG_NUMBER = re.compile(rb"\d{19}")
"""19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float."""


def decode_json(payload: bytes | bytearray) -> Any:
    """``json.loads(payload)``: the same value or the same exception, several times as fast.

    orjson reads it unless it refuses it (NaN, lone surrogates, a BOM, other encodings,
    invalid UTF-8...) or it holds 19 digits in a row; ``json.loads`` reads the rest.
    """
    if type(payload) in _RAW_TYPES and not _LONG_NUMBER.search(payload):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    return json.loads(payload)


def parse_payload(payload: bytes | bytearray) -> Any:
    """Parse a payload as JSON, falling back to its text as Nest's ``parseMessage`` does."""
    try:
        return decode_json(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


class InvalidUtf8Error(ValueError):
    """A Nest packet that is JSON but not valid UTF-8; ``request_id`` is its id when readable
    (None for an event, or when the id itself holds the invalid bytes)."""

    def __init__(self, request_id: Any) -> None:
        self.request_id = request_id
        super().__init__(f"the packet is not valid UTF-8 (request id {request_id!r})")


def _has_surrogates(value: Any) -> bool:
    return isinstance(value, str) and any("\udc80" <= c <= "\udcff" for c in value)


def _not_utf8(payload: bytes | bytearray) -> Any:
    # The bytes that are not UTF-8 become lone surrogates, so that the JSON still parses and
    # the id (if the bad bytes are elsewhere) can be answered.
    text = bytes(payload).decode("utf-8", errors="surrogateescape")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return payload.decode("utf-8", errors="replace")
    if isinstance(value, dict) and ("pattern" in value or "data" in value):
        request_id = value.get("id")
        raise InvalidUtf8Error(None if _has_surrogates(request_id) else request_id)
    return payload.decode("utf-8", errors="replace")


def decode_request(
    payload: bytes | bytearray, channel: str, request_id: Any = None
) -> IncomingRequest:
    """Decode what a server received on ``channel`` (Nest's ``IncomingRequestDeserializer``).

    A JSON object with a ``pattern`` or ``data`` key is a Nest packet; anything else (plain JSON,
    text, an empty payload) comes from an external publisher and becomes an event whose data is
    the whole value. A Nest packet that is not valid UTF-8 raises ``InvalidUtf8Error``.

    ``request_id``: the message is a request by its transport (an MQTT 5 Response Topic); only
    an object with an ``id`` and a ``pattern`` or ``data`` key is then a Nest packet, anything
    else is the whole data of a request with that id (a plain MQTT 5 client's JSON).
    """
    if request_id is not None:
        return _decode_marked_request(payload, channel, request_id)
    try:
        value = decode_json(payload)
    except UnicodeDecodeError:
        value = _not_utf8(payload)
    except ValueError:
        value = payload.decode("utf-8", errors="replace")
    if isinstance(value, dict) and ("pattern" in value or "data" in value):
        return IncomingRequest(value.get("pattern"), value.get("data"), value.get("id"))
    return IncomingRequest(channel, value)


def _decode_marked_request(
    payload: bytes | bytearray, channel: str, request_id: Any
) -> IncomingRequest:
    value = parse_payload(payload)
    if isinstance(value, dict) and "id" in value and ("pattern" in value or "data" in value):
        return IncomingRequest(value.get("pattern"), value.get("data"), value["id"])
    return IncomingRequest(channel, value, request_id)


def decode_bare(
    payload: bytes | bytearray, channel: str, request_id: Any = None
) -> IncomingRequest:
    """A payload without Nest's envelope: the whole JSON value (other text as ``str``) is the
    data, nothing is cropped; ``raw`` keeps the bytes. ``request_id``: as ``decode_request``."""
    return IncomingRequest(channel, parse_payload(payload), request_id, bytes(payload))


def incoming_request(value: Any, channel: str, request_id: Any = None) -> IncomingRequest:
    """What a deserializer returned, as an ``IncomingRequest``: one already, or Nest's
    ``{"pattern", "data", "id"}`` shape (``pattern`` defaults to the channel). ``request_id``
    is the id of a message its transport marks as a request, when the value has none."""
    if isinstance(value, IncomingRequest):
        packet = value
    elif isinstance(value, Mapping):
        packet = IncomingRequest(value.get("pattern", channel), value.get("data"), value.get("id"))
    else:
        msg = (
            f"the deserializer returned {type(value).__name__}, not an IncomingRequest or a "
            "mapping with 'pattern', 'data' and (for a request) 'id' keys"
        )
        raise TypeError(msg)
    if packet.id is None and request_id is not None:
        packet.id = request_id
    return packet


def incoming_response(value: Any) -> IncomingResponse | None:
    """What a client's deserializer returned, as an ``IncomingResponse`` (None: drop it)."""
    if value is None or isinstance(value, IncomingResponse):
        return value
    if isinstance(value, Mapping) and "id" in value:
        err = value.get("err")
        return IncomingResponse(
            value["id"],
            response=value.get("response", MISSING),
            err=MISSING if err is None else err,
            is_disposed=bool(value.get("isDisposed", value.get("is_disposed"))),
        )
    msg = (
        f"the deserializer returned {type(value).__name__}, not an IncomingResponse or a "
        "mapping with 'id' and 'response' / 'err' / 'isDisposed' keys"
    )
    raise TypeError(msg)


@dataclass(slots=True)
class IncomingResponse:
    """A decoded reply packet."""

    id: Any
    response: Any = MISSING
    err: Any = MISSING
    is_disposed: bool = False


def decode_response(
    payload: bytes | bytearray, channel: str | None = None
) -> IncomingResponse | None:
    """Decode a reply (Nest's ``IncomingResponseDeserializer``); None if it is not one.

    Unlike Nest 11, a non-JSON reply is logged (with its ``channel``, the topic it came on,
    when given) and dropped instead of crashing the client.
    """
    try:
        value = decode_json(payload)
    except (ValueError, RecursionError):
        logger.warning(
            "Dropped a reply%s that is not JSON (or nested too deeply): %r",
            _on(channel),
            payload[:200],
        )
        return None
    if not isinstance(value, dict) or "id" not in value:
        logger.warning("Dropped a reply%s without an id: %r", _on(channel), payload[:200])
        return None
    if "err" not in value and "response" not in value and "isDisposed" not in value:
        return IncomingResponse(value["id"], response=value, is_disposed=True)
    return IncomingResponse(
        value["id"],
        response=value.get("response", MISSING),
        err=value.get("err", MISSING) if value.get("err") is not None else MISSING,
        is_disposed=bool(value.get("isDisposed")),
    )


def _on(channel: str | None) -> str:
    return "" if channel is None else f" on {channel!r}"
