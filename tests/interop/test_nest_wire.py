"""The NestJS side of the wire, captured: a stock Nest client against a stock Nest service.

A raw paho sniffer subscribed to ``#`` records every PUBLISH and the broker log shows the
SUBSCRIBE/UNSUBSCRIBE traffic; each test asserts the exact bytes recorded in
``nest_wire_facts`` (nest-reference.md section 5; case numbers in the test names' docstrings).
MQTT 3.1.1 here; MQTT 5 in test_nest_wire_v5.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import nest_wire_facts as facts
import pytest
from interop_broker import PrivateMosquitto
from nest_peer import NestClient, NestService
from wire_sniffer import Captured, WireSniffer

pytestmark = pytest.mark.interop


def request_template(pattern: str, data: Any) -> bytes:
    """``{"pattern":…,"data":…,"id":"<ID>"}`` as JSON.stringify writes it (simple values)."""
    body = json.dumps({"pattern": pattern, "data": data}, separators=(",", ":"))
    return body[:-1].encode() + b',"id":"<ID>"}'


def request_id(msg: Captured, template: bytes) -> str:
    found = facts.match(template, msg.payload)
    assert found is not None, f"{msg.payload!r} does not have the shape {template!r}"
    return found


def assert_plain(msg: Captured) -> None:
    """QoS 0, not retained, no MQTT 5 properties."""
    assert (msg.qos, msg.retain, msg.user_properties, msg.properties) == (0, False, [], {})


def exchange(
    client: NestClient, sniffer: WireSniffer, topic: str, pattern: Any, data: Any, replies: int
) -> tuple[dict[str, Any], Captured, list[Captured]]:
    """Send through the Nest client; return its result, the request and the reply packets."""
    result = client.send(pattern, data)
    [req] = sniffer.wait_for(topic)
    found = sniffer.wait_for(f"{topic}/reply", replies)
    sniffer.settle(0.05)
    assert len(sniffer.on_topic(f"{topic}/reply")) == replies
    return result, req, found


def wait_events(client: NestClient, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        result = client.send("events_seen", 0)
        events: list[dict[str, Any]] = result["values"][0]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


@pytest.fixture
def events(nest_service: NestService, nest_client: NestClient) -> NestClient:
    """The Nest client, after clearing the events the Nest service stored so far."""
    assert nest_client.send("events_clear", 0)["ok"]
    return nest_client


def test_request_and_reply_bytes(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Cases 1 and 2: request and reply payloads, key order, QoS, id echo."""
    result, req, [reply] = exchange(nest_client, sniffer, "sum", "sum", [1, 2, 3], 1)
    assert result == {"ok": True, "values": [6]}
    rid = request_id(req, facts.SUM_REQUEST)
    assert facts.NEST_ID_RE.fullmatch(rid)
    assert reply.payload == facts.fill(facts.SUM_REPLY, rid)
    assert_plain(req)
    assert_plain(reply)


def test_client_subscribes_reply_topic_before_publishing_and_unsubscribes_after(
    nest_service: NestService, nest_client: NestClient, mqtt_broker: PrivateMosquitto
) -> None:
    """Cases 1 and 2: SUBSCRIBE sum/reply, PUBLISH sum, UNSUBSCRIBE sum/reply (per request)."""
    before = len(mqtt_broker.client_packets("nest-client"))
    assert nest_client.send("sum", [1, 2, 3])["values"] == [6]
    deadline = time.monotonic() + 3
    while True:
        seen = mqtt_broker.client_packets("nest-client")[before:]
        if len(seen) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert tuple(seen) == facts.CLIENT_SUBSCRIBES_PER_REQUEST


def test_concurrent_requests_through_one_client(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Many requests in flight at once, two patterns: every reply reaches its caller."""
    commands = [{"op": "send", "pattern": "sum", "data": [i, 1]} for i in range(8)]
    commands += [{"op": "send", "pattern": "count_up_sync", "data": i} for i in range(4)]
    results = nest_client.batch(commands)
    assert [r["values"] for r in results] == [[i + 1] for i in range(8)] + [
        list(range(i)) for i in range(4)
    ]
    requests = sniffer.wait_for("sum", 8)
    replies = sniffer.wait_for("sum/reply", 8)
    ids = {request_id(r, request_template("sum", json.loads(r.payload)["data"])) for r in requests}
    assert {json.loads(r.payload)["id"] for r in replies} == ids
    assert len(ids) == 8


def test_object_pattern_topic_is_sorted_json(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Case 3: the topic is the sorted JSON, the payload keeps the caller's object."""
    result, req, [reply] = exchange(
        nest_client, sniffer, facts.OBJECT_TOPIC, facts.OBJECT_PATTERN, [4, 5], 1
    )
    assert result["values"] == [9]
    rid = request_id(req, facts.OBJECT_REQUEST)
    assert reply.topic == facts.OBJECT_REPLY_TOPIC
    assert reply.payload == facts.fill(facts.OBJECT_REPLY, rid)

    result, req, [reply] = exchange(
        nest_client, sniffer, facts.MIXED_CASE_TOPIC, facts.MIXED_CASE_PATTERN, "m", 1
    )
    assert result["values"] == ["m"]


@pytest.mark.parametrize(
    ("pattern", "n", "expected"),
    [
        ("count_up_sync", 3, facts.STREAM_SYNC_REPLIES),
        ("count_up", 3, facts.STREAM_TAKE_REPLIES),
        ("count_up_late", 2, facts.STREAM_LATE_REPLIES),
    ],
)
def test_stream_packets(
    nest_service: NestService,
    nest_client: NestClient,
    sniffer: WireSniffer,
    pattern: str,
    n: int,
    expected: tuple[bytes, ...],
) -> None:
    """Cases 5 and 6: one packet per value; where isDisposed goes."""
    result, req, replies = exchange(nest_client, sniffer, pattern, pattern, n, len(expected))
    assert result == {"ok": True, "values": list(range(n))}
    rid = request_id(req, request_template(pattern, n))
    assert [r.payload for r in replies] == [facts.fill(t, rid) for t in expected]


def test_stream_that_fails_after_a_value(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    result, req, replies = exchange(nest_client, sniffer, "fail_stream", "fail_stream", 1, 2)
    assert result == {
        "ok": False,
        "error": {"status": "error", "message": "mid-stream"},
        "values": [1],
    }
    rid = request_id(req, request_template("fail_stream", 1))
    assert [r.payload for r in replies] == [facts.fill(t, rid) for t in facts.STREAM_ERROR_REPLIES]


@pytest.mark.parametrize(
    ("pattern", "data", "template", "values"),
    [
        ("none", 1, facts.NO_VALUE_REPLY, []),
        ("empty", 1, facts.NO_VALUE_REPLY, []),
        ("count_up", 0, facts.NO_VALUE_REPLY, []),
        ("null_value", 1, facts.NULL_REPLY, [None]),
        ("async_value", "q", facts.PROMISE_REPLY, [{"echoed": "q"}]),
    ],
)
def test_single_reply_shapes(
    nest_service: NestService,
    nest_client: NestClient,
    sniffer: WireSniffer,
    pattern: str,
    data: Any,
    template: bytes,
    values: list[Any],
) -> None:
    """Case 7 (no value) plus null and Promise results."""
    result, req, [reply] = exchange(nest_client, sniffer, pattern, pattern, data, 1)
    assert result == {"ok": True, "values": values}
    assert reply.payload == facts.fill(template, request_id(req, request_template(pattern, data)))


@pytest.mark.parametrize(
    ("pattern", "template", "error"),
    [
        ("fail_rpc", facts.RPC_ERROR_STRING_REPLY, {"status": "error", "message": "bad"}),
        ("fail_obj", facts.RPC_ERROR_OBJECT_REPLY, {"code": 7}),
        (
            "crash",
            facts.INTERNAL_ERROR_REPLY,
            {"status": "error", "message": "Internal server error"},
        ),
    ],
)
def test_error_replies(
    nest_service: NestService,
    nest_client: NestClient,
    sniffer: WireSniffer,
    pattern: str,
    template: bytes,
    error: Any,
) -> None:
    """Cases 8, 9, 10: the err payloads; the Nest client errors with err as sent."""
    result, req, [reply] = exchange(nest_client, sniffer, pattern, pattern, 1, 1)
    assert result == {"ok": False, "error": error, "values": []}
    rid = request_id(req, request_template(pattern, 1))
    assert reply.payload == facts.fill(template, rid)
    if pattern == "crash":
        assert "ERROR [RpcExceptionsHandler] Error: x" in nest_service.logs


def test_no_matching_handler_reply(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Case 11: a delivered but unmatched topic gets the bare-string error reply."""
    topic = facts.NO_HANDLER_TOPIC
    result, req, [reply] = exchange(nest_client, sniffer, topic, topic, 1, 1)
    assert result == {"ok": False, "error": facts.NO_HANDLER_MESSAGE, "values": []}
    rid = request_id(req, request_template(topic, 1))
    assert reply.topic == facts.NO_HANDLER_REPLY_TOPIC
    assert reply.payload == facts.fill(facts.NO_HANDLER_REPLY, rid)


def test_unknown_pattern_gets_no_reply_at_all(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """A pattern no service subscribes: only the caller's timeout ends the request."""
    result = nest_client.send("nobody_serves_this", 1, timeoutMs=300)
    assert result == {"ok": False, "timeout": True, "values": []}
    assert len(sniffer.wait_for("nobody_serves_this")) == 1
    sniffer.settle(0.1)
    assert sniffer.on_topic("nobody_serves_this/reply") == []


def test_wildcard_handler_replies_on_the_concrete_topic(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Case 17 (wildcards): the reply topic is the concrete topic + /reply."""
    topic = facts.WILDCARD_TOPIC
    result, req, [reply] = exchange(nest_client, sniffer, topic, topic, 1, 1)
    assert result["values"] == [{"topic": topic, "data": 1}]
    rid = request_id(req, request_template(topic, 1))
    assert reply.topic == facts.WILDCARD_REPLY_TOPIC
    assert reply.payload == facts.fill(facts.WILDCARD_REPLY, rid)


def test_event_has_no_id_and_no_reply(
    nest_service: NestService, events: NestClient, sniffer: WireSniffer
) -> None:
    """Case 13: emit publishes {pattern, data} and nothing comes back."""
    assert events.emit("user_created", {"a": 1}) == {"ok": True, "values": []}
    [evt] = sniffer.wait_for(facts.EVENT_TOPIC)
    assert evt.payload == facts.EVENT
    assert_plain(evt)
    assert wait_events(events, 1) == [{"topic": "user_created", "data": {"a": 1}}]
    assert sniffer.on_topic("user_created/reply") == []


def test_request_to_an_event_handler(
    nest_service: NestService, events: NestClient, sniffer: WireSniffer
) -> None:
    """The event handler runs; the reply carries no value, so the Nest client gets none."""
    result, req, [reply] = exchange(events, sniffer, "user_created", "user_created", 5, 1)
    assert result == {"ok": True, "values": []}
    rid = request_id(req, request_template("user_created", 5))
    assert reply.payload == facts.fill(facts.REQUEST_TO_EVENT_HANDLER_REPLY, rid)
    assert wait_events(events, 1) == [{"topic": "user_created", "data": 5}]


def test_event_without_matching_handler_is_logged_not_answered(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Case 12."""
    assert nest_client.emit(facts.NO_HANDLER_TOPIC, {"a": 1})["ok"]
    sniffer.wait_for(facts.NO_HANDLER_TOPIC)
    deadline = time.monotonic() + 3
    while not any(facts.NO_EVENT_HANDLER_LOG in line for line in nest_service.logs):
        assert time.monotonic() < deadline, nest_service.logs
        time.sleep(0.02)
    assert sniffer.on_topic(facts.NO_HANDLER_REPLY_TOPIC) == []


def test_invalid_pattern_fails_in_the_client(nest_client: NestClient) -> None:
    """Case 20: nothing is published; the Nest client raises InvalidMessageException."""
    result = nest_client.send(None, 1)
    assert result["ok"] is False
    assert result["exception"] is True
    assert result["error"]["message"] == "The invalid data or message pattern (undefined/null)"


def test_external_raw_and_data_events(
    nest_service: NestService, events: NestClient, sniffer: WireSniffer
) -> None:
    """Cases 14, 15: raw paho publishes to an @EventPattern('lamp/+') handler."""
    sniffer.publish(*facts.EXTERNAL_RAW_EVENT)
    sniffer.publish(*facts.EXTERNAL_DATA_EVENT)
    assert sorted(wait_events(events, 2), key=lambda e: e["topic"]) == [
        {"topic": "lamp/1", "data": "ON"},
        {"topic": "lamp/2", "data": 5},
    ]


def test_external_request_is_answered_with_its_id(
    nest_service: NestService, sniffer: WireSniffer
) -> None:
    """Case 16, plus: routing uses the topic, not the pattern field."""
    sniffer.publish(*facts.EXTERNAL_REQUEST)
    reply_topic, payload = facts.EXTERNAL_REPLY
    [reply] = sniffer.wait_for(reply_topic)
    assert reply.payload == payload
    assert_plain(reply)

    sniffer.publish(*facts.EXTERNAL_MISLABELLED_REQUEST)
    reply_topic, payload = facts.EXTERNAL_MISLABELLED_REPLY
    [reply] = sniffer.wait_for(reply_topic)
    assert reply.payload == payload


def test_record_builder_qos_on_mqtt_3(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """The record's QoS is the request's; user properties are not sent on MQTT 3.1.1."""
    result = nest_client.send("echo_props", ":cat:", qos=1, userProperties={"x-version": "1"})
    assert result == {"ok": True, "values": [None]}
    [req] = sniffer.wait_for("echo_props")
    [reply] = sniffer.wait_for("echo_props/reply")
    request_id(req, request_template("echo_props", ":cat:"))
    assert (req.qos, req.user_properties) == (1, [])
    assert_plain(reply)


def test_server_subscribes_every_handler_key_verbatim(
    nest_service: NestService, mqtt_broker: PrivateMosquitto
) -> None:
    """Cases 17, 18: one SUBSCRIBE per handler key, wildcards verbatim, extras qos wins."""
    subscribed = [
        (topic, qos)
        for kind, topic, qos in mqtt_broker.client_packets("nest-service")
        if kind == "SUBSCRIBE"
    ]
    for expected in facts.SERVER_SUBSCRIPTIONS_DEFAULT:
        assert expected in subscribed
    assert len(subscribed) == len({t for t, _ in subscribed}), "one SUBSCRIBE per key"


async def test_async_helpers_do_not_block_the_event_loop(
    nest_service: NestService, nest_client: NestClient
) -> None:
    """From async tests (a nestpy peer on the loop), use the a* helpers: they run in a thread."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    try:
        assert await nest_client.asend("slow", 100) == {"ok": True, "values": [100]}
        assert (await nest_client.aemit("user_created", 1))["ok"]
        assert [
            r["values"]
            for r in await nest_client.abatch(
                [
                    {"op": "send", "pattern": "sum", "data": [1]},
                    {"op": "send", "pattern": "count_up_sync", "data": 2},
                ]
            )
        ] == [[1], [0, 1]]
    finally:
        task.cancel()
    assert ticks >= 10
