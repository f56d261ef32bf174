"""``codec.encode_json`` and ``encode_response`` write exactly what ``JSONEncoder.encode`` (with
the NaN fallback) writes, or raise what it raises, on the paths that skip its Python layers."""

import dataclasses
import datetime
import enum
import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from nestpy.microservices import codec
from nestpy.microservices.codec import MISSING, encode_json, encode_response


def _reference(value: Any) -> str:
    """``encode_json`` as it was: ``JSONEncoder.encode``, NaN/±Infinity as null on error."""
    try:
        return codec._encoder.encode(value)
    except ValueError as exc:
        if not str(exc).startswith(codec._NON_FINITE):
            raise
        return codec._encoder.encode(codec._finite(value))


def _outcome(func: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "value", func(*args, **kwargs)
    except Exception as exc:
        return type(exc).__name__, str(exc)


class Point(BaseModel):
    x: int


@dataclasses.dataclass
class Pair:
    a: int
    b: float


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


cycle: list[Any] = [1]
cycle.append(cycle)
looped: dict[str, Any] = {}
looped["self"] = looped

VALUES = [
    6,
    -1.5,
    math.nan,
    math.inf,
    [1, math.inf, {"a": -math.inf}],
    {math.nan: 1, 1.5: 2},
    "é\u2028",
    Text("x"),
    "\ud800",
    None,
    True,
    Color.RED,
    2**80,
    {"a": [1, 2, 3], "b": {"c": None}},
    Point(x=1),
    Pair(1, math.nan),
    {1, 2},
    (1, "a"),
    b"\xff",
    object(),
    cycle,
    looped,
    [[[[1]]]] * 3,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_values_are_written_as_before(value: Any) -> None:
    assert _outcome(encode_json, value) == _outcome(_reference, value)


@pytest.mark.parametrize("response", VALUES, ids=range(len(VALUES)))
@pytest.mark.parametrize("request_id", ["i", 7, None, math.nan, Text("t")])
def test_replies_are_written_as_before(response: Any, request_id: Any) -> None:
    def reference() -> bytes:
        packet = {"response": response, "isDisposed": True, "id": request_id}
        return codec._to_bytes(_reference(packet))

    got = _outcome(encode_response, request_id, response=response, is_disposed=True)
    assert got == _outcome(reference)


def test_error_and_empty_replies_are_written_as_before() -> None:
    assert encode_response("i", err="bad", is_disposed=True) == (
        b'{"err":"bad","isDisposed":true,"id":"i"}'
    )
    assert encode_response("i", response=MISSING) == b'{"id":"i"}'
    assert encode_response("i", response=math.nan) == b'{"response":null,"id":"i"}'
    assert encode_response("\ud800", response="\ud83d\ude00") == (
        b'{"response":"\xf0\x9f\x98\x80","id":"\\ud800"}'
    )


def test_a_failed_encoding_leaves_nothing_behind() -> None:
    # The circular-reference markers are fresh for each call: an error leaves none behind.
    with pytest.raises(ValueError, match="Circular"):
        encode_json(cycle)
    assert encode_json([1, [2]]) == "[1,[2]]"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def _same_packet(ours: bytes, reference: bytes) -> bool:
    """The same bytes; or, where a float is spelled another way, the same keys in the same
    order with the same values."""
    if ours == reference:
        return True
    pairs = {"object_pairs_hook": list}
    return bool(json.loads(ours, **pairs) == json.loads(reference, **pairs))


@given(_json_values)
def test_any_json_value_is_written_as_before(value: Any) -> None:
    assert encode_json(value) == _reference(value)
    reply = encode_response("i", response=value, is_disposed=True)
    reference = codec._to_bytes(_reference({"response": value, "isDisposed": True, "id": "i"}))
    assert _same_packet(reply, reference)
    assert json.loads(reply)["id"] == "i"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_keeps_its_value_whatever_its_spelling(number: float) -> None:
    assert json.loads(codec.json_bytes(number)) == number
    assert json.loads(codec.json_bytes({"n": [number]}))["n"][0] == number


def test_small_floats_are_spelled_as_json_stringify_spells_them() -> None:
    assert codec.json_bytes([1e-05, 1e-07, 0.0001, 1e16, -0.0, 1.5]) == (
        b"[0.00001,1e-7,0.0001,1e+16,-0.0,1.5]"  # JSON.stringify: 1e-7, 0.00001; json: 1e-05
    )


class Shade(enum.Enum):
    DARK = "dark"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ({1: "int key", None: "null key"}, b'{"1":"int key","null":"null key"}'),
        ([2**80], b"[1208925819614629174706176]"),
        ("\ud800", b'"\\ud800"'),
        (Pair(1, math.nan), b'{"a":1,"b":null}'),
        (Point(x=2), b'{"x":2}'),
        ({"at": {1, 2}}, b'{"at":[1,2]}'),
        (Shade.DARK, b'"dark"'),
        (uuid.UUID(int=1), b'"00000000-0000-0000-0000-000000000001"'),
        (Text("sub"), b'"sub"'),
    ],
)
def test_what_orjson_cannot_write_as_json_does_is_written_by_json(
    value: Any, written: bytes
) -> None:
    assert codec.json_bytes(value) == written
    assert codec.json_bytes(value) == codec._to_bytes(encode_json(value))


@pytest.mark.parametrize("value", [object(), cycle, datetime.datetime(2026, 12, 1)])
def test_what_json_refuses_is_refused_with_jsons_error(value: Any) -> None:
    assert _outcome(codec.json_bytes, value) == _outcome(_reference, value)
