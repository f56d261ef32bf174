"""``codec.decode_json`` is ``json.loads``: the same value, or the same exception, always."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nestpy.microservices.codec import decode_json


def _outcome(func: Any, payload: Any) -> tuple[str, Any]:
    try:
        value = func(payload)
    except Exception as exc:  # the type and message must agree
        return type(exc).__name__, str(exc)
    return "value", (type(value).__name__, json.dumps(value, sort_keys=True))


TRICKY = [
    b'{"pattern":"sum","data":[1,2,3],"id":"i"}',
    b"[1,2]",
    b"5",
    b"-1.5e3",
    b'"text"',
    b"null",
    b"NaN",
    b"",
    b"{",
    b"{}x",
    b'{"a":1} ',
    b' {"a":1}',
    b'\n{"a":1}\n',
    b'{"a":1}\x00',
    b"ON",
    b"on",
    b"\xef\xbb\xbf{}",  # UTF-8 BOM
    '{"a":"é"}'.encode("utf-16"),
    '{"a":"é"}'.encode("utf-16-le"),
    '{"a":"é"}'.encode("utf-16-be"),
    '{"a":"é"}'.encode("utf-32"),
    '{"a":"é"}'.encode("utf-32-le"),
    "[1]".encode("utf-16-le"),
    b"{\x00}",
    b"1\x00",
    b"\x00",
    b"\xff\xfe",
    b'{"a":"\xff"}',  # invalid UTF-8
    b'{"a":"\xed\xa0\x80"}',  # an encoded surrogate: json.loads passes it (surrogatepass)
    b'{"a":"\\ud800"}',
    b'{"a":"\\ud83d\\ude00"}',
    b'{"a":1,"a":2}',
    b"18446744073709551615",  # the largest integer orjson reads as one
    b"18446744073709551616",  # beyond 64 bits: an int for json, a float for orjson
    b"-9223372036854775809",
    b'{"n":[123456789012345678901234567890]}',
    b"1.2345678901234567890123",
    b"1e400",
    b"-1e400",
    b"Infinity",
    b"[" * 100_000 + b"]" * 100_000,
    b"1" * 5000,  # over the int digits limit
    bytearray(b'{"x":[1]}'),
    bytearray(b" [1] "),
    '{"a":1}',
    "\ufeff{}",
    memoryview(b"{}"),
    None,
]


@pytest.mark.parametrize("payload", TRICKY, ids=range(len(TRICKY)))
def test_tricky_payloads_give_what_json_loads_gives(payload: Any) -> None:
    assert _outcome(decode_json, payload) == _outcome(json.loads, payload)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(_json_values, st.sampled_from(["", " ", "\n", "x", "\x00"]), st.sampled_from(["", " "]))
def test_encoded_values_give_what_json_loads_gives(value: Any, tail: str, head: str) -> None:
    text = head + json.dumps(value, ensure_ascii=False) + tail
    payload = text.encode("utf-8", "surrogatepass")
    assert _outcome(decode_json, payload) == _outcome(json.loads, payload)


@given(st.binary(max_size=24))
def test_any_bytes_give_what_json_loads_gives(payload: bytes) -> None:
    assert _outcome(decode_json, payload) == _outcome(json.loads, payload)
