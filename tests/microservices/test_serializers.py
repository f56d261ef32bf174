"""Serializers and deserializers (``nestpy.microservices.serializers``), ``envelope=False``
and marked requests in the transport-agnostic dispatch: no broker."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.codec import (
    IncomingRequest,
    IncomingResponse,
    decode_request,
    encode_event,
    encode_request,
    encode_response,
)
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.serializers import (
    JsonDeserializer,
    JsonSerializer,
    NestDeserializer,
    NestSerializer,
    RawDeserializer,
    RawSerializer,
)
from nestpy.microservices.server import Server


class Bare(Server):
    async def listen(self) -> None: ...

    async def close(self) -> None: ...


def test_nest_serializer_writes_nests_bytes() -> None:
    nest = NestSerializer()
    assert nest.serialize({"pattern": "p", "data": [1], "id": "i"}) == encode_request("p", [1], "i")
    assert nest.serialize({"pattern": "p", "data": "x"}) == encode_event("p", "x")
    assert nest.serialize({"response": 1, "isDisposed": True, "id": "i"}) == encode_response(
        "i", response=1, is_disposed=True
    )


def test_plain_and_raw_serializers_write_only_the_data() -> None:
    assert JsonSerializer().serialize({"pattern": "p", "data": {"on": True}}) == b'{"on":true}'
    assert JsonSerializer().serialize({"err": "bad", "isDisposed": True, "id": "i"}) == b'"bad"'
    assert RawSerializer().serialize({"pattern": "p", "data": b"\x00"}) == b"\x00"
    assert RawSerializer().serialize({"pattern": "p", "data": "ON"}) == b"ON"
    with pytest.raises(TypeError, match="must return bytes or str"):
        RawSerializer().serialize({"pattern": "p", "data": 5})


def test_deserializers() -> None:
    options = {"channel": "t/1"}
    payload = b'{"data": 5, "unit": "C"}'
    assert NestDeserializer().deserialize(payload, options) == decode_request(payload, "t/1")
    assert JsonDeserializer().deserialize(payload, options) == IncomingRequest(
        "t/1", {"data": 5, "unit": "C"}, None, payload
    )
    assert RawDeserializer().deserialize(b"\xff", options) == IncomingRequest("t/1", b"\xff")
    reply = NestDeserializer(for_responses=True).deserialize(b'{"response":1,"id":"i"}', options)
    assert isinstance(reply, IncomingResponse)
    assert reply.response == 1


def _handler(route: str, func: Any, **extras: Any) -> MessageHandler:
    return MessageHandler(route, func, is_event=False, extras=extras)


def test_a_marked_request_without_envelope_gets_the_whole_payload() -> None:
    seen: list[Any] = []
    server = Bare()
    server.add_handler(_handler("sum", lambda data: seen.append(data) or 3))
    replies: list[bytes] = []
    server.handle_packet(
        "sum", b'{"data": [1, 2]}', BaseRpcContext("sum"), replies.append, request_id="r"
    )
    server.handle_packet(
        "sum",
        b'{"pattern":"sum","data":[1],"id":"n"}',
        BaseRpcContext("sum"),
        replies.append,
        request_id="r2",
    )
    assert seen == [{"data": [1, 2]}, [1]]
    assert [json.loads(r)["id"] for r in replies] == ["r", "n"]


def test_a_deserializer_returning_a_wrong_type_drops_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Wrong:
        def deserialize(self, value: Any, options: Any = None) -> Any:
            return 42

    server = Bare()
    server.deserializer = Wrong()
    server.add_handler(_handler("x", lambda data: data))
    replies: list[bytes] = []
    with caplog.at_level(logging.WARNING):
        server.handle_packet("x", b"1", BaseRpcContext("x"), replies.append)
    assert replies == []
    (record,) = [r for r in caplog.records if "deserialized" in r.getMessage()]
    assert "'x'" in record.getMessage()
    assert "returned int" in record.getMessage()


class _Client(ClientProxy):
    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def _publish_request(self, route: str, payload: bytes, options: Any) -> None: ...

    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None: ...


def test_a_client_deserializer_that_raises_drops_the_reply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Boom:
        def deserialize(self, value: Any, options: Any = None) -> Any:
            raise ValueError("garbled")

    client = _Client()
    client.deserializer = Boom()
    with caplog.at_level(logging.WARNING):
        client.handle_response(b"??", "sum/reply")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Dropped a reply on 'sum/reply': it could not be deserialized (ValueError: garbled)"
    ]
