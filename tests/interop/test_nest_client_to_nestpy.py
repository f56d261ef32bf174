"""A stock NestJS client calling a nestpy microservice.

``nestpy_mirror.MirrorModule`` is nestpy's twin of ``nest_app/service.js``.
Each case runs one command through the Nest client facing nestpy and the same command through
``nest_reference`` (the Nest client facing the stock Nest service on a broker of its own), and
asserts that the Nest client saw the same result and that nestpy published the same reply bytes
as Nest (request ids masked), plus the facts of ``nest_wire_facts`` where they exist.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nest_wire_facts as facts
import pytest
from interop_broker import PrivateMosquitto
from nest_peer import NestClient, NestReference, ensure_node_modules
from nestpy_mirror import JsonEdgesModule, start_mirror
from wire_sniffer import Captured, WireSniffer

from nestpy.microservices import NestMicroservice

pytestmark = pytest.mark.interop


@pytest.fixture
async def nestpy_service(mqtt_broker: PrivateMosquitto) -> AsyncIterator[NestMicroservice]:
    """The mirror service on the module's broker (MQTT 3.1.1, client id ``nestpy-service``)."""
    app = await start_mirror(mqtt_broker.url, client_id="nestpy-service")
    yield app
    await app.close()


def topic_of(pattern: Any) -> str:
    """The topic Nest publishes a pattern on (observed: nest_wire_facts)."""
    if pattern == facts.OBJECT_PATTERN:
        return facts.OBJECT_TOPIC
    if pattern == facts.MIXED_CASE_PATTERN:
        return facts.MIXED_CASE_TOPIC
    assert isinstance(pattern, str)
    return pattern


def masked(request: Captured, replies: list[Captured]) -> list[bytes]:
    """The reply payloads with the request's id replaced by ``<ID>``."""
    rid = json.loads(request.payload)["id"]
    return [r.payload.replace(f'"id":"{rid}"'.encode(), b'"id":"<ID>"') for r in replies]


async def exchange(
    client: NestClient,
    sniffer: WireSniffer,
    topic: str,
    pattern: Any,
    data: Any,
    replies: int = 1,
    **options: Any,
) -> tuple[dict[str, Any], list[bytes]]:
    """One send through a Nest client; its result and the masked reply payloads (at least
    ``replies`` of them, and any that follow within 50 ms)."""
    result = await client.asend(pattern, data, **options)
    [request] = await asyncio.to_thread(sniffer.wait_for, topic)
    await asyncio.to_thread(sniffer.wait_for, f"{topic}/reply", replies)
    await asyncio.to_thread(sniffer.settle, 0.05)
    return result, masked(request, sniffer.on_topic(f"{topic}/reply"))


async def compare(
    reference: NestReference,
    client: NestClient,
    sniffer: WireSniffer,
    pattern: Any,
    data: Any,
    **options: Any,
) -> tuple[dict[str, Any], list[bytes]]:
    """Run a send against Nest and against nestpy; assert both look the same to the Nest client."""
    topic = topic_of(pattern)
    reference.sniffer.clear()
    theirs = await exchange(reference.client, reference.sniffer, topic, pattern, data, **options)
    count = len(theirs[1])
    ours = await exchange(client, sniffer, topic, pattern, data, count, **options)
    assert ours == theirs
    return ours


async def events_seen(client: NestClient, count: int) -> list[dict[str, Any]]:
    for _ in range(60):
        events: list[dict[str, Any]] = (await client.asend("events_seen", 0))["values"][0]
        if len(events) >= count:
            break
        await asyncio.sleep(0.05)
    return events


CASES: list[tuple[Any, Any, tuple[bytes, ...] | None]] = [
    ("sum", [1, 2, 3], (facts.SUM_REPLY,)),
    (facts.OBJECT_PATTERN, [4, 5], (facts.OBJECT_REPLY,)),
    (facts.MIXED_CASE_PATTERN, "m", None),
    ("count_up_sync", 3, facts.STREAM_SYNC_REPLIES),
    ("count_up_late", 2, facts.STREAM_LATE_REPLIES),
    ("fail_stream", 1, facts.STREAM_ERROR_REPLIES),
    ("empty", 1, (facts.NO_VALUE_REPLY,)),
    ("count_up", 0, (facts.NO_VALUE_REPLY,)),
    ("null_value", 1, (facts.NULL_REPLY,)),
    ("async_value", "q", (facts.PROMISE_REPLY,)),
    ("fail_rpc", 1, (facts.RPC_ERROR_STRING_REPLY,)),
    ("fail_obj", 1, (facts.RPC_ERROR_OBJECT_REPLY,)),
    ("crash", 1, (facts.INTERNAL_ERROR_REPLY,)),
    (facts.NO_HANDLER_TOPIC, 1, (facts.NO_HANDLER_REPLY,)),
    (facts.WILDCARD_TOPIC, 1, (facts.WILDCARD_REPLY,)),
    ("sensors/9", 2, None),
    ("echo_props", 1, None),
    ("echo_packet", "d", None),
    ("user_created", 5, (facts.REQUEST_TO_EVENT_HANDLER_REPLY,)),
]


@pytest.mark.parametrize(("pattern", "data", "expected"), CASES, ids=[str(c[0]) for c in CASES])
async def test_nest_client_sees_what_nest_would_send(
    nestpy_service: NestMicroservice,
    nest_client: NestClient,
    nest_reference: NestReference,
    sniffer: WireSniffer,
    pattern: Any,
    data: Any,
    expected: tuple[bytes, ...] | None,
) -> None:
    """Same result in the Nest client, same reply bytes (ids masked) as from the Nest service."""
    result, replies = await compare(nest_reference, nest_client, sniffer, pattern, data)
    if expected is not None:
        assert replies == list(expected)
    assert "timeout" not in result, "both timed out"


async def test_none_is_sent_as_null(
    nestpy_service: NestMicroservice,
    nest_client: NestClient,
    nest_reference: NestReference,
    sniffer: WireSniffer,
) -> None:
    """Python has no ``undefined``: a handler returning None replies ``"response":null``, as
    Nest's ``null_value`` does (Nest's ``none`` returns undefined: no value at all). A handler
    that must complete with no value returns an empty generator (``empty``)."""
    result, replies = await exchange(nest_client, sniffer, "none", "none", 1)
    assert (result, replies) == ({"ok": True, "values": [None]}, [facts.NULL_REPLY])
    reference = nest_reference
    reference.sniffer.clear()
    assert await exchange(reference.client, reference.sniffer, "null_value", "null_value", 1) == (
        result,
        replies,
    )


async def test_async_generator_stream(
    nestpy_service: NestMicroservice,
    nest_client: NestClient,
    nest_reference: NestReference,
    sniffer: WireSniffer,
) -> None:
    """An async generator is a stream: the Nest client gets every value, as from Nest's
    ``interval(5).pipe(take(3))``. nestpy cannot know a value is the last before the generator
    ends, so completion goes in its own packet, as Nest sends a stream that completes later."""
    reference = nest_reference
    reference.sniffer.clear()
    theirs = await exchange(reference.client, reference.sniffer, "count_up", "count_up", 3, 3)
    ours = await exchange(nest_client, sniffer, "count_up", "count_up", 3, 4)
    assert ours[0] == theirs[0] == {"ok": True, "values": [0, 1, 2]}
    assert theirs[1] == list(facts.STREAM_TAKE_REPLIES)
    assert ours[1] == [
        b'{"response":0,"id":"<ID>"}',
        b'{"response":1,"id":"<ID>"}',
        b'{"response":2,"id":"<ID>"}',
        facts.NO_VALUE_REPLY,
    ]


async def test_values_json_cannot_hold_are_replied_as_json_stringify_writes_them(
    mqtt_broker: PrivateMosquitto, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """NaN and ±Infinity are null, a lone surrogate ``\\udxxx`` (node's ``JSON.stringify`` of
    the same array); Python's ``NaN`` is not JSON: the Nest client could not parse the reply."""
    app = await start_mirror(mqtt_broker.url, JsonEdgesModule)
    try:
        result = await nest_client.asend("json_edges", 1, timeoutMs=1000)
    finally:
        await app.close()
    assert result == {"ok": True, "values": [[None, None, None, 1.5, "\ud800", "\U0001f600"]]}
    [reply] = sniffer.on_topic("json_edges/reply")
    [request] = sniffer.on_topic("json_edges")
    expected = '{"response":[null,null,null,1.5,"\\ud800","😀"],"isDisposed":true,"id":"<ID>"}'
    assert masked(request, [reply]) == [expected.encode()]


async def test_events_from_the_nest_client_and_external_publishers(
    nestpy_service: NestMicroservice,
    nest_client: NestClient,
    nest_reference: NestReference,
    sniffer: WireSniffer,
) -> None:
    """Events reach the handlers with the same data and topic as in Nest; nothing is replied."""
    reference = nest_reference
    assert (await reference.client.asend("events_clear", 0))["ok"]
    for peer, sniffing in ((reference.client, reference.sniffer), (nest_client, sniffer)):
        assert await peer.aemit("user_created", {"a": 1}) == {"ok": True, "values": []}
        assert (await peer.aemit("alerts", "hot", qos=2))["ok"]
        assert (await peer.aemit("alerts", "warm"))["ok"]
        await asyncio.to_thread(sniffing.publish, *facts.EXTERNAL_RAW_EVENT)
        await asyncio.to_thread(sniffing.publish, *facts.EXTERNAL_DATA_EVENT)
    expected = [
        {"topic": "user_created", "data": {"a": 1}},
        {"topic": "alerts", "data": "hot", "qos": 2},
        {"topic": "alerts", "data": "warm", "qos": 0},
        {"topic": "lamp/1", "data": "ON"},
        {"topic": "lamp/2", "data": 5},
    ]
    # MQTT orders messages per QoS level only: the QoS 2 event may come last.
    for peer in (reference.client, nest_client):
        events = await events_seen(peer, 5)
        assert sorted(events, key=json.dumps) == sorted(expected, key=json.dumps)
    await asyncio.to_thread(sniffer.settle, 0.05)
    assert sniffer.on_topic("user_created")[0].payload == facts.EVENT
    replies = {m.topic for m in sniffer.messages if m.topic.endswith("/reply")}
    assert replies == {"events_seen/reply"}


async def test_many_requests_in_flight(
    nestpy_service: NestMicroservice, nest_client: NestClient
) -> None:
    commands = [{"op": "send", "pattern": "sum", "data": [i, 1]} for i in range(8)]
    commands += [{"op": "send", "pattern": "count_up", "data": i} for i in range(4)]
    results = await nest_client.abatch(commands)
    assert [r["values"] for r in results] == [[i + 1] for i in range(8)] + [
        list(range(i)) for i in range(4)
    ]


async def test_shared_group_answers_each_nest_request_once(
    mqtt_broker: PrivateMosquitto, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Two services in one ``shared_group``: the Nest client's requests (on plain ``sum``) are
    each answered once, by one of them, on ``sum/reply``."""
    apps = [
        await start_mirror(mqtt_broker.url, client_id=f"nestpy-shared-{i}", shared_group="g")
        for i in range(2)
    ]
    try:
        commands = [{"op": "send", "pattern": "sum", "data": [i, 1]} for i in range(20)]
        results = await nest_client.abatch(commands)
    finally:
        for app in apps:
            await app.close()
    assert [r["values"] for r in results] == [[i + 1] for i in range(20)]
    await asyncio.to_thread(sniffer.settle, 0.05)
    request_ids = {json.loads(m.payload)["id"] for m in sniffer.on_topic("sum")}
    reply_ids = [json.loads(m.payload)["id"] for m in sniffer.on_topic("sum/reply")]
    assert sorted(reply_ids) == sorted(request_ids)
    for i in range(2):
        replies = [p for p in mqtt_broker.client_packets(f"nestpy-shared-{i}") if p[0] == "PUBLISH"]
        assert replies, f"nestpy-shared-{i} answered nothing"
        assert ("SUBSCRIBE", "$share/g/sum", 0) in mqtt_broker.client_packets(f"nestpy-shared-{i}")


async def test_unknown_pattern_times_out_in_the_nest_client(
    nestpy_service: NestMicroservice, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """nestpy subscribes its handler keys only, as Nest: nobody answers an unknown pattern."""
    result = await nest_client.asend("nobody_serves_this", 1, timeoutMs=300)
    assert result == {"ok": False, "timeout": True, "values": []}
    assert len(sniffer.on_topic("nobody_serves_this")) == 1
    assert sniffer.on_topic("nobody_serves_this/reply") == []


async def test_external_requests_are_answered_as_nest_does(
    nestpy_service: NestMicroservice, sniffer: WireSniffer
) -> None:
    """Cases 15, 16: a raw request gets its id back; routing uses the topic, not ``pattern``."""
    for (topic, payload), (reply_topic, reply) in (
        (facts.EXTERNAL_REQUEST, facts.EXTERNAL_REPLY),
        (facts.EXTERNAL_MISLABELLED_REQUEST, facts.EXTERNAL_MISLABELLED_REPLY),
    ):
        await asyncio.to_thread(sniffer.publish, topic, payload)
        [got] = await asyncio.to_thread(sniffer.wait_for, reply_topic)
        assert (got.payload, got.qos, got.retain, got.properties) == (reply, 0, False, {})


async def test_subscriptions_are_the_nest_services(
    mqtt_broker: PrivateMosquitto, nest_reference: NestReference
) -> None:
    """Cases 17, 18: the same topic filters with the same QoS as the Nest service, one each."""

    def subscribed(broker: PrivateMosquitto, client_id: str) -> list[tuple[str, int | None]]:
        return [(t, q) for kind, t, q in broker.client_packets(client_id) if kind == "SUBSCRIBE"]

    app = await start_mirror(mqtt_broker.url, client_id="nestpy-subscriptions")
    await app.close()
    ours = subscribed(mqtt_broker, "nestpy-subscriptions")
    theirs = subscribed(nest_reference.broker, "nest-ref-service")
    assert len(ours) == len(set(ours))
    assert sorted(set(ours)) == sorted(set(theirs))
    assert set(facts.SERVER_SUBSCRIPTIONS_DEFAULT) <= set(ours)


# ---- MQTT 5: a nestpy service on protocol version 5, a Nest client with user properties ------


@pytest.fixture(scope="module")
def nest_client_v5(broker_v5: PrivateMosquitto) -> Iterator[NestClient]:
    ensure_node_modules()
    props = facts.V5_CLIENT_USER_PROPERTIES
    with NestClient(broker_v5.url, protocol_version=5, user_properties=props) as client:
        yield client


@pytest.fixture
async def nestpy_service_v5(broker_v5: PrivateMosquitto) -> AsyncIterator[NestMicroservice]:
    """The mirror service on MQTT 5 with ``subscribe_options={"qos": 1}``, as in
    test_nest_wire_v5.py (client id ``nestpy-service-v5``)."""
    app = await start_mirror(
        broker_v5.url,
        protocol_version=5,
        client_id="nestpy-service-v5",
        subscribe_options={"qos": 1},
    )
    yield app
    await app.close()


async def test_v5_record_user_properties_reach_the_handler(
    nestpy_service_v5: NestMicroservice, nest_client_v5: NestClient, sniffer_v5: WireSniffer
) -> None:
    """Case 19: client-wide then record user properties; the reply has none, QoS 0."""
    result = await nest_client_v5.asend(
        "echo_props", ":cat:", qos=1, userProperties={"x-version": "1.0.0"}
    )
    assert result == {"ok": True, "values": [{"tenant": "t", "x-version": "1.0.0"}]}
    [request] = sniffer_v5.on_topic("echo_props")
    rid = facts.match(facts.V5_RECORD_REQUEST, request.payload)
    assert rid is not None
    assert request.user_properties == facts.V5_RECORD_USER_PROPERTIES
    [reply] = await asyncio.to_thread(sniffer_v5.wait_for, "echo_props/reply")
    assert reply.payload == facts.fill(facts.V5_RECORD_REPLY, rid)
    assert (reply.qos, reply.retain, reply.user_properties, reply.properties) == (0, False, [], {})


async def test_v5_record_wins_and_client_wide_properties_alone(
    nestpy_service_v5: NestMicroservice, nest_client_v5: NestClient
) -> None:
    result = await nest_client_v5.asend("echo_props", 1, userProperties={"tenant": "r"})
    assert result["values"] == [{"tenant": "r"}]
    assert (await nest_client_v5.asend("echo_props", 1))["values"] == [{"tenant": "t"}]
    packet = (await nest_client_v5.asend("echo_packet", "d", qos=1))["values"][0]["packet"]
    assert packet == {
        "topic": "echo_packet",
        "qos": 1,
        "retain": False,
        "dup": False,
        "properties": {"userProperties": {"tenant": "t"}},
    }


async def test_v5_external_publisher_user_properties(
    nestpy_service_v5: NestMicroservice, sniffer_v5: WireSniffer
) -> None:
    await asyncio.to_thread(
        sniffer_v5.publish,
        "echo_props",
        b'{"id":"ext-1","data":0}',
        user_properties=[("a", "1"), ("b", "2")],
    )
    [reply] = await asyncio.to_thread(sniffer_v5.wait_for, "echo_props/reply")
    assert reply.payload == b'{"response":{"a":"1","b":"2"},"isDisposed":true,"id":"ext-1"}'


async def test_v5_subscribe_options_qos_and_per_handler_qos(
    nestpy_service_v5: NestMicroservice, broker_v5: PrivateMosquitto
) -> None:
    """Case 18: subscribe_options {qos: 1} for every key, extras {qos: 2} wins on alerts."""
    subscribed = [
        (topic, qos)
        for kind, topic, qos in broker_v5.client_packets("nestpy-service-v5")
        if kind == "SUBSCRIBE"
    ]
    assert set(facts.SERVER_SUBSCRIPTIONS_QOS1) <= set(subscribed)
    assert {qos for topic, qos in subscribed if topic != "alerts"} == {1}
