"""Requests, streams and errors over Mosquitto, byte for byte as NestJS 12 puts them on the
wire (``tests/interop/nest_wire_facts.py``), checked with a sniffer on the broker."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest
from transport_support import Harness, Sniffer, eventually, wire_facts

from nestpy import Controller
from nestpy.microservices import Ctx, EventPattern, MessagePattern, RpcException
from nestpy.microservices.server import no_event_handler_message
from nestpy_mqtt import MqttContext

pytestmark = pytest.mark.mqtt
F = wire_facts()


@Controller()
class WireController:
    """The handlers of the Nest peer's service.js that the facts were observed on."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    @MessagePattern("sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern(F.OBJECT_PATTERN)
    def object_sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern(F.MIXED_CASE_PATTERN)
    def mixed(self, data: Any) -> Any:
        return data

    @MessagePattern("count_up_sync")
    def count_up_sync(self, n: int) -> Iterator[int]:
        yield from range(n)

    @MessagePattern("count_up_late")
    async def count_up_late(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @MessagePattern("fail_stream")
    async def fail_stream(self, data: Any) -> AsyncIterator[int]:
        yield 1
        raise RpcException("mid-stream")

    @MessagePattern("empty")
    async def empty(self, data: Any) -> AsyncIterator[int]:
        for value in ():
            yield value

    @MessagePattern("null")
    def null(self, data: Any) -> None:
        return None

    @MessagePattern("async_value")
    async def async_value(self, data: str) -> dict[str, str]:
        return {"echoed": data}

    @MessagePattern("fail_rpc")
    def fail_rpc(self, data: Any) -> None:
        raise RpcException("bad")

    @MessagePattern("fail_rpc_object")
    def fail_rpc_object(self, data: Any) -> None:
        raise RpcException({"code": 7})

    @MessagePattern("fail_plain")
    async def fail_plain(self, data: Any) -> None:
        raise RuntimeError("x")

    @MessagePattern("sensors/+/temperature/+")
    def temperature(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> dict[str, Any]:
        return {"topic": ctx.get_topic(), "data": data}

    @MessagePattern("sensors/+")
    def sensor(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> dict[str, Any]:
        return {"topic": ctx.get_topic(), "data": data}

    @EventPattern("user_created")
    def user_created(self, data: Any) -> None:
        self.events.append(data)

    @EventPattern("lamp/+")
    def lamp(self, data: Any, ctx: MqttContext) -> None:
        self.events.append((ctx.get_topic(), data))


@pytest.fixture
async def service(harness: Harness) -> Any:
    return await harness.service(WireController)


async def exchange(
    harness: Harness, sniffer: Sniffer, pattern: Any, data: Any, topic: str, replies: int = 1
) -> tuple[Any, list[Any], list[Any]]:
    """Send once; return the result (or the RpcException), the requests and the replies."""
    client = harness.client()
    try:
        result: Any = [v async for v in client.send(pattern, data, timeout=5)]
    except RpcException as exc:
        result = exc
    return result, await sniffer.wait(topic), await sniffer.wait(f"{topic}/reply", replies)


def sent_id(request: Any) -> str:
    """The id of a captured request (its exact bytes are checked by the sum test)."""
    return str(json.loads(request.payload)["id"])


def request_id(template: bytes, payload: bytes) -> str:
    found = F.match(template, payload)
    assert found is not None, payload
    return str(found)


@pytest.mark.usefixtures("service")
async def test_request_and_reply_bytes(harness: Harness, sniffer: Sniffer) -> None:
    result, [request], [reply] = await exchange(harness, sniffer, "sum", [1, 2, 3], "sum")
    assert result == [6]
    rid = request_id(F.SUM_REQUEST, request.payload)
    assert F.NEST_ID_RE.fullmatch(rid)  # 21 lowercase hex characters, like Nest 12's ids
    assert reply.payload == F.fill(F.SUM_REPLY, rid)
    for message in (request, reply):
        assert (message.qos, message.retain, message.user_properties) == (0, False, [])


@pytest.mark.usefixtures("service")
async def test_ids_are_unique_and_the_reply_goes_to_the_caller(
    harness: Harness, sniffer: Sniffer
) -> None:
    first, second = harness.client(), harness.client()
    assert [await first.send("sum", [i], timeout=5) for i in range(3)] == [0, 1, 2]
    assert await second.send("sum", [7], timeout=5) == 7
    ids = [
        request_id(F.SUM_REQUEST.replace(b"[1,2,3]", b"[%d]" % i), m.payload)
        for i, m in zip([0, 1, 2, 7], await sniffer.wait("sum", 4), strict=True)
    ]
    assert len(set(ids)) == 4


@pytest.mark.usefixtures("service")
async def test_object_patterns_use_sorted_json_topics(harness: Harness, sniffer: Sniffer) -> None:
    result, [request], [reply] = await exchange(
        harness, sniffer, F.OBJECT_PATTERN, [4, 5], F.OBJECT_TOPIC
    )
    assert result == [9]
    rid = request_id(F.OBJECT_REQUEST, request.payload)
    assert reply.topic == F.OBJECT_REPLY_TOPIC
    assert reply.payload == F.fill(F.OBJECT_REPLY, rid)
    client = harness.client()
    assert await client.send(F.MIXED_CASE_PATTERN, "m", timeout=5) == "m"
    await eventually(lambda: sniffer.on(F.MIXED_CASE_TOPIC))


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("pattern", "data", "replies", "expected"),
    [
        ("count_up_sync", 3, "STREAM_SYNC_REPLIES", [0, 1, 2]),
        ("count_up_late", 2, "STREAM_LATE_REPLIES", [0, 1]),
    ],
)
async def test_stream_packets(
    harness: Harness, sniffer: Sniffer, pattern: str, data: int, replies: str, expected: list[int]
) -> None:
    templates = getattr(F, replies)
    result, [request], sent = await exchange(
        harness, sniffer, pattern, data, pattern, len(templates)
    )
    assert result == expected
    rid = sent_id(request)
    assert [m.payload for m in sent] == [F.fill(t, rid) for t in templates]


@pytest.mark.usefixtures("service")
async def test_stream_that_fails_after_a_value(harness: Harness, sniffer: Sniffer) -> None:
    result, [request], sent = await exchange(harness, sniffer, "fail_stream", 0, "fail_stream", 2)
    assert isinstance(result, RpcException)
    assert result.error == {"status": "error", "message": "mid-stream"}
    rid = sent_id(request)
    assert [m.payload for m in sent] == [F.fill(t, rid) for t in F.STREAM_ERROR_REPLIES]


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("pattern", "data", "template", "expected"),
    [
        ("empty", 0, "NO_VALUE_REPLY", []),
        ("user_created", 1, "REQUEST_TO_EVENT_HANDLER_REPLY", []),
        # deliberate difference: a handler's None is sent as null (Nest drops undefined)
        ("null", 0, "NULL_REPLY", [None]),
        ("async_value", "q", "PROMISE_REPLY", [{"echoed": "q"}]),
    ],
)
async def test_single_reply_shapes(
    harness: Harness, sniffer: Sniffer, pattern: str, data: Any, template: str, expected: Any
) -> None:
    result, [request], [reply] = await exchange(harness, sniffer, pattern, data, pattern)
    assert result == expected
    assert reply.payload == F.fill(getattr(F, template), sent_id(request))


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("pattern", "template", "error"),
    [
        ("fail_rpc", "RPC_ERROR_STRING_REPLY", {"status": "error", "message": "bad"}),
        ("fail_rpc_object", "RPC_ERROR_OBJECT_REPLY", {"code": 7}),
        (
            "fail_plain",
            "INTERNAL_ERROR_REPLY",
            {"status": "error", "message": "Internal server error"},
        ),
    ],
)
async def test_error_replies(
    harness: Harness, sniffer: Sniffer, pattern: str, template: str, error: Any
) -> None:
    result, [request], [reply] = await exchange(harness, sniffer, pattern, 1, pattern)
    assert isinstance(result, RpcException)
    assert result.error == error
    rid = sent_id(request)
    assert reply.payload == F.fill(getattr(F, template), rid)


@pytest.mark.usefixtures("service")
async def test_no_matching_handler_reply(harness: Harness, sniffer: Sniffer) -> None:
    """Mosquitto delivers ``sensors//temperature/c`` to ``sensors/+/temperature/+``; Nest's
    matcher rejects it (``+`` never matches an empty level), so the service says so."""
    result, [request], [reply] = await exchange(
        harness, sniffer, F.NO_HANDLER_TOPIC, 1, F.NO_HANDLER_TOPIC
    )
    assert isinstance(result, RpcException)
    assert result.error == F.NO_HANDLER_MESSAGE  # a bare string, as the Nest client sees it
    rid = sent_id(request)
    assert reply.topic == F.NO_HANDLER_REPLY_TOPIC
    assert reply.payload == F.fill(F.NO_HANDLER_REPLY, rid)


async def test_event_without_matching_handler_is_logged_not_answered(
    harness: Harness, sniffer: Sniffer, caplog: pytest.LogCaptureFixture
) -> None:
    app = await harness.service(WireController)
    with caplog.at_level(logging.ERROR):
        await harness.client().emit(F.NO_HANDLER_TOPIC, 1)
        await eventually(lambda: F.NO_EVENT_HANDLER_LOG in caplog.messages)
    assert no_event_handler_message(F.NO_HANDLER_TOPIC) == F.NO_EVENT_HANDLER_LOG
    assert sniffer.on(F.NO_HANDLER_REPLY_TOPIC) == []
    assert app.get(WireController).events == []


@pytest.mark.usefixtures("service")
async def test_wildcard_handler_replies_on_the_concrete_topic(
    harness: Harness, sniffer: Sniffer
) -> None:
    result, [request], [reply] = await exchange(
        harness, sniffer, F.WILDCARD_TOPIC, 1, F.WILDCARD_TOPIC
    )
    assert result == [{"topic": F.WILDCARD_TOPIC, "data": 1}]
    rid = sent_id(request)
    assert reply.topic == F.WILDCARD_REPLY_TOPIC
    assert reply.payload == F.fill(F.WILDCARD_REPLY, rid)


async def test_external_publishers(harness: Harness, sniffer: Sniffer) -> None:
    """Raw payloads are events; ``{"data": ...}`` is cropped; an ``id`` makes a request; the
    topic, not the ``pattern`` field, routes."""
    app = await harness.service(WireController)
    for topic, payload in (F.EXTERNAL_RAW_EVENT, F.EXTERNAL_DATA_EVENT):
        await sniffer.publish(topic, payload)
    await eventually(lambda: len(app.get(WireController).events) == 2)
    assert app.get(WireController).events == [("lamp/1", "ON"), ("lamp/2", 5)]
    await sniffer.publish(*F.EXTERNAL_REQUEST)
    await sniffer.publish(*F.EXTERNAL_MISLABELLED_REQUEST)
    for topic, payload in (F.EXTERNAL_REPLY, F.EXTERNAL_MISLABELLED_REPLY):
        assert [m.payload for m in await sniffer.wait(topic)] == [payload]


@pytest.mark.usefixtures("service")
async def test_event_bytes_have_no_id_and_get_no_reply(
    harness: Harness, sniffer: Sniffer, service: Any
) -> None:
    await harness.client().emit(F.EVENT_TOPIC, {"a": 1})
    [event] = await sniffer.wait(F.EVENT_TOPIC)
    assert (event.payload, event.qos, event.retain) == (F.EVENT, 0, False)
    await eventually(lambda: service.get(WireController).events == [{"a": 1}])
    await harness.client().send("sum", [1], timeout=5)  # a round trip: a reply would be here
    assert sniffer.on(f"{F.EVENT_TOPIC}/reply") == []
