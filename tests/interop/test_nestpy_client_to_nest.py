"""A nestpy client calling the stock NestJS service of ``nest_app/service.js``.

What the nestpy client returns or raises is checked against what Nest sends (the facts of
``nest_wire_facts``, asserted against live Nest by test_nest_wire*.py), and the requests it
publishes against the ones the stock Nest client publishes for the same call.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import nest_wire_facts as facts
import pytest
from interop_broker import PrivateMosquitto
from nest_peer import NestClient, NestService, ensure_node_modules
from wire_sniffer import Captured, WireSniffer

from nestpy.microservices import (
    ClientProxy,
    ClientProxyFactory,
    InvalidMessageError,
    RequestTimeoutError,
    RpcException,
    Transport,
)
from nestpy_mqtt import MqttOptions, MqttRecordBuilder

pytestmark = pytest.mark.interop

ClientFactory = Callable[..., ClientProxy]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``make_client(url, **options)``: nestpy MQTT clients, closed after the test."""
    made: list[ClientProxy] = []

    def make(url: str, **options: Any) -> ClientProxy:
        client = ClientProxyFactory.create(
            transport=Transport.MQTT, options=MqttOptions(url=url, **options)
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture(params=[4, 5], ids=["mqtt311", "mqtt5"])
def client(
    request: pytest.FixtureRequest,
    nest_service: NestService,
    mqtt_broker: PrivateMosquitto,
    make_client: ClientFactory,
) -> ClientProxy:
    """A nestpy client (MQTT 3.1.1 and 5) on the broker of the Nest service (MQTT 3.1.1)."""
    return make_client(mqtt_broker.url, protocol_version=request.param)


def request_template(pattern: Any, data: Any) -> bytes:
    """``{"pattern":…,"data":…,"id":"<ID>"}`` as ``JSON.stringify`` writes it (simple values)."""
    body = json.dumps({"pattern": pattern, "data": data}, separators=(",", ":"), ensure_ascii=False)
    return body[:-1].encode() + b',"id":"<ID>"}'


def request_id(msg: Captured, template: bytes) -> str:
    found = facts.match(template, msg.payload)
    assert found is not None, f"{msg.payload!r} does not have the shape {template!r}"
    return found


async def wait_for(sniffer: WireSniffer, topic: str, count: int = 1) -> list[Captured]:
    return await asyncio.to_thread(sniffer.wait_for, topic, count)


async def collect(stream: Any) -> list[Any]:
    return [value async for value in stream]


# ---- request / reply --------------------------------------------------------------------------


async def test_sum_and_the_bytes_on_the_wire(client: ClientProxy, sniffer: WireSniffer) -> None:
    """Cases 1, 2: the request has Nest's shape and a 21-character id; Nest echoes it."""
    assert await client.send("sum", [1, 2, 3], timeout=5) == 6
    [req] = await wait_for(sniffer, facts.SUM_TOPIC)
    rid = request_id(req, facts.SUM_REQUEST)
    assert facts.NEST_ID_RE.fullmatch(rid)
    assert (req.qos, req.retain, req.user_properties) == (0, False, [])
    # Nest sends no properties; nestpy's MQTT 5 requests expire with their timeout (5 s; the
    # broker forwards what remains of it).
    v5 = [{"MessageExpiryInterval": 5}, {"MessageExpiryInterval": 4}]
    assert req.properties in (v5 if client.options.protocol_version == 5 else [{}])
    [reply] = await wait_for(sniffer, facts.SUM_REPLY_TOPIC)
    assert reply.payload == facts.fill(facts.SUM_REPLY, rid)


@pytest.mark.parametrize(
    ("pattern", "data", "topic", "record"),
    [
        ("sum", [1, 2, 3], "sum", False),
        (facts.OBJECT_PATTERN, [4, 5], facts.OBJECT_TOPIC, False),
        (facts.MIXED_CASE_PATTERN, "m", facts.MIXED_CASE_TOPIC, False),
        ("async_value", {"text": "héllo ✓", "n": [1.5, -2, None, True]}, "async_value", False),
        ("echo_props", ":cat:", "echo_props", True),
    ],
    ids=["sum", "object", "mixed-case-object", "unicode", "record"],
)
async def test_requests_are_the_nest_clients(
    nest_service: NestService,
    nest_client: NestClient,
    mqtt_broker: PrivateMosquitto,
    make_client: ClientFactory,
    sniffer: WireSniffer,
    pattern: Any,
    data: Any,
    topic: str,
    record: bool,
) -> None:
    """Same topic, payload (ids aside), QoS, retain flag and result as the stock Nest client."""
    client = make_client(mqtt_broker.url)
    if record:
        theirs = await nest_client.asend(pattern, data, qos=1, retain=False)
        ours = await client.send(pattern, MqttRecordBuilder(data).set_qos(1).build(), timeout=5)
    else:
        theirs = await nest_client.asend(pattern, data)
        ours = await client.send(pattern, data, timeout=5)
    assert theirs == {"ok": True, "values": [ours]}
    nest_req, our_req = await wait_for(sniffer, topic, 2)
    template = request_template(pattern, data)
    assert facts.NEST_ID_RE.fullmatch(request_id(nest_req, template))
    assert facts.NEST_ID_RE.fullmatch(request_id(our_req, template))
    assert (our_req.qos, our_req.retain, our_req.user_properties) == (
        nest_req.qos,
        nest_req.retain,
        nest_req.user_properties,
    )
    assert nest_req.qos == (1 if record else 0)


async def test_values_json_cannot_hold_are_sent_as_json_stringify_sends_them(
    client: ClientProxy, sniffer: WireSniffer
) -> None:
    """NaN and ±Infinity become null, a lone surrogate ``\\udxxx``, as ``JSON.stringify``
    writes them; Python's ``NaN`` is not JSON, and Nest takes such a request for an event."""
    data = [math.nan, math.inf, -math.inf, 1.5, "\ud800", "\U0001f600"]
    echoed = await client.send("async_value", data, timeout=3)
    assert echoed == {"echoed": [None, None, None, 1.5, "\ud800", "\U0001f600"]}
    [req] = await wait_for(sniffer, "async_value")
    expected = '{"pattern":"async_value","data":[null,null,null,1.5,"\\ud800","😀"],"id":"<ID>"}'
    request_id(req, expected.encode())


TRICKY_PATTERNS = [
    {"user_id": 1, "user-name": 2, "user.x": 3, "user:y": 4, "user z": 5, "user!": 6},
    {"a$b": 1, "a~b": 3, "a/b": 4, "a@b": 5, "a&b": 6, "a_b": 7, "a`b": 8, "a=b": 9},
    {"é": 1, "f": 2, "e": 3, "E": 4, "ä b": 5, "a b": 6, "b": 7, "É": 8},
    {"ss": 1, "ß": 2, "æ": 3, "ae": 4, "Z": 5, "ø": 6, "p": 7},
    {"k10": 1, "k2": 2, "k1": 3, "K1": 4, "_k": 5, "-k": 6, "$k": 7},
    {"n": {"z": 1, "a": [True, None, 1.5]}, "w": 1e-7, "x": 1e16, "y": -0.0, "z": 2.0},
    [3, "x", {"b": 1, "a": 2}],
    1e-7,
    0.1,
]
"""Not 1e21 or more: JavaScript writes ``1e+21``, and ``+`` in a topic makes the broker drop
the publisher."""


@pytest.mark.parametrize("pattern", TRICKY_PATTERNS, ids=lambda p: json.dumps(p)[:24])
async def test_pattern_topics_are_the_nest_clients(
    nest_client: NestClient,
    mqtt_broker: PrivateMosquitto,
    make_client: ClientFactory,
    sniffer: WireSniffer,
    pattern: Any,
) -> None:
    """Case 3: object patterns are sorted as ``localeCompare`` sorts (ICU), numbers written as
    JavaScript writes them; any difference would send the request to a topic nobody serves."""
    sent = await nest_client.aemit(pattern, "nest")
    assert sent["ok"], sent
    await make_client(mqtt_broker.url).emit(pattern, "nestpy")
    for _ in range(60):
        topics = {json.loads(m.payload)["data"]: m.topic for m in sniffer.messages}
        if len(topics) == 2:
            break
        await asyncio.sleep(0.05)
    assert topics["nestpy"] == topics["nest"]


async def test_reply_subscription_is_kept(
    nest_service: NestService,
    mqtt_broker: PrivateMosquitto,
    make_client: ClientFactory,
) -> None:
    """Unlike the stock client (SUBSCRIBE, PUBLISH, UNSUBSCRIBE per request), nestpy subscribes
    ``sum/reply`` before its first request and keeps it."""
    client = make_client(mqtt_broker.url, client_id="nestpy-client-kept")
    for i in range(3):
        assert await client.send("sum", [i, 1], timeout=5) == i + 1
    await asyncio.sleep(0.1)
    assert mqtt_broker.client_packets("nestpy-client-kept") == [
        ("SUBSCRIBE", "sum/reply", 0),
        ("PUBLISH", "sum", 0),
        ("PUBLISH", "sum", 0),
        ("PUBLISH", "sum", 0),
    ]


async def test_many_requests_in_flight_on_one_client(client: ClientProxy) -> None:
    """64 requests at once on one pattern, plus streams: every reply reaches its caller (the
    stock Nest client loses replies here; see nest_wire_facts, case 4)."""
    sums = [client.send("sum", [i, 1], timeout=10) for i in range(64)]
    streams = [collect(client.send("count_up_sync", i, timeout=10)) for i in range(4)]
    results = await asyncio.gather(*sums, *streams)
    assert results == [i + 1 for i in range(64)] + [list(range(i)) for i in range(4)]


# ---- streams and values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "data", "values"),
    [
        ("count_up", 3, [0, 1, 2]),
        ("count_up_sync", 3, [0, 1, 2]),
        ("count_up_late", 2, [0, 1]),
        ("empty", 1, []),
        ("count_up", 0, []),
        ("none", 1, []),
        ("null_value", 1, [None]),
        ("async_value", "q", [{"echoed": "q"}]),
        ("user_created", 5, []),
    ],
)
async def test_every_value_and_the_last(
    client: ClientProxy, pattern: str, data: Any, values: list[Any]
) -> None:
    """``async for`` gets every value Nest sends; ``await`` the last one (None if none)."""
    assert await collect(client.send(pattern, data, timeout=5)) == values
    assert await client.send(pattern, data, timeout=5) == (values[-1] if values else None)


async def test_stream_that_fails_after_a_value(client: ClientProxy) -> None:
    seen: list[Any] = []

    async def consume() -> None:
        async for value in client.send("fail_stream", 1, timeout=5):
            seen.append(value)

    with pytest.raises(RpcException) as failure:
        await consume()
    assert seen == [1]
    assert failure.value.get_error() == {"status": "error", "message": "mid-stream"}


# ---- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        ("fail_rpc", {"status": "error", "message": "bad"}),
        ("fail_obj", {"code": 7}),
        ("crash", {"status": "error", "message": "Internal server error"}),
        (facts.NO_HANDLER_TOPIC, facts.NO_HANDLER_MESSAGE),
    ],
)
async def test_errors_carry_nests_err(client: ClientProxy, pattern: str, error: Any) -> None:
    """Cases 8-11: ``RpcException.get_error()`` is ``err`` exactly as Nest sent it."""
    with pytest.raises(RpcException) as failure:
        await client.send(pattern, 1, timeout=5)
    assert failure.value.get_error() == error
    with pytest.raises(RpcException) as failure:
        await collect(client.send(pattern, 1, timeout=5))
    assert failure.value.get_error() == error


async def test_unknown_pattern_ends_with_the_timeout(
    client: ClientProxy, sniffer: WireSniffer
) -> None:
    """Nest subscribes its handler keys only: nothing answers, the timeout ends the request."""
    with pytest.raises(RequestTimeoutError):
        await client.send("nobody_serves_this", 1, timeout=0.3)
    assert client.pending_requests == 0
    assert len(sniffer.on_topic("nobody_serves_this")) == 1
    assert sniffer.on_topic("nobody_serves_this/reply") == []


async def test_invalid_pattern_fails_before_sending(client: ClientProxy) -> None:
    """Case 20: the same message as Nest's ``InvalidMessageException``."""
    with pytest.raises(InvalidMessageError, match=r"^The invalid data or message pattern"):
        client.send(None, 1)


# ---- wildcards and events ---------------------------------------------------------------------


async def test_wildcard_handlers(client: ClientProxy, sniffer: WireSniffer) -> None:
    """Case 17: Nest's wildcard handlers get the concrete topic and reply on it + /reply."""
    topic = facts.WILDCARD_TOPIC
    assert await client.send(topic, 1, timeout=5) == {"topic": topic, "data": 1}
    assert await client.send("sensors/9", 2, timeout=5) == {"topic": "sensors/9", "data": 2}
    [req] = await wait_for(sniffer, topic)
    [reply] = await wait_for(sniffer, facts.WILDCARD_REPLY_TOPIC)
    assert reply.payload == facts.fill(
        facts.WILDCARD_REPLY, request_id(req, request_template(topic, 1))
    )


async def events_seen(client: ClientProxy, count: int) -> list[dict[str, Any]]:
    for _ in range(60):
        events: list[dict[str, Any]] = await client.send("events_seen", 0, timeout=5)
        if len(events) >= count:
            break
        await asyncio.sleep(0.05)
    return events


async def test_events_reach_nest(client: ClientProxy, sniffer: WireSniffer) -> None:
    """Case 13: ``emit`` publishes Nest's event packet (no id); the handlers store them."""
    await client.send("events_clear", 0, timeout=5)
    await client.emit("user_created", {"a": 1})
    await client.emit("lamp/3", "ON")
    await client.emit("alerts", MqttRecordBuilder("hot").set_qos(2).build())
    expected = [
        {"topic": "user_created", "data": {"a": 1}},
        {"topic": "lamp/3", "data": "ON"},
        {"topic": "alerts", "data": "hot", "qos": 2},
    ]
    events = await events_seen(client, 3)
    assert sorted(events, key=json.dumps) == sorted(expected, key=json.dumps)
    [evt] = await wait_for(sniffer, facts.EVENT_TOPIC)
    assert (evt.payload, evt.qos, evt.retain) == (facts.EVENT, 0, False)
    assert [m.topic for m in sniffer.messages if m.topic.startswith("user_created/")] == []


# ---- record builder and user properties -------------------------------------------------------


async def test_record_on_mqtt_3_keeps_qos_and_drops_user_properties(
    nest_service: NestService,
    mqtt_broker: PrivateMosquitto,
    make_client: ClientFactory,
    sniffer: WireSniffer,
) -> None:
    client = make_client(mqtt_broker.url, user_properties={"tenant": "t"})
    rec = MqttRecordBuilder(":cat:").set_qos(1).set_properties(user_properties={"x": "1"}).build()
    assert await client.send("echo_props", rec, timeout=5) is None
    [req] = await wait_for(sniffer, "echo_props")
    request_id(req, facts.V5_RECORD_REQUEST)
    assert (req.qos, req.user_properties) == (1, [])


@pytest.fixture(scope="module")
def nest_service_v5(broker_v5: PrivateMosquitto) -> Iterator[NestService]:
    ensure_node_modules()
    env = {"NEST_MQTT_CLIENT_ID": "nest-service-v5"}
    with NestService(broker_v5.url, protocol_version=5, extra_env=env) as svc:
        yield svc


@pytest.fixture
async def client_v5(
    nest_service_v5: NestService, broker_v5: PrivateMosquitto, make_client: ClientFactory
) -> ClientProxy:
    """MQTT 5 with the client-wide user properties of test_nest_wire_v5.py."""
    return make_client(
        broker_v5.url, protocol_version=5, user_properties=facts.V5_CLIENT_USER_PROPERTIES
    )


async def test_v5_record_user_properties_reach_nest(
    client_v5: ClientProxy, sniffer_v5: WireSniffer
) -> None:
    """Case 19: the PUBLISH Nest's client would send; Nest's handler sees the properties."""
    rec = (
        MqttRecordBuilder(":cat:")
        .set_qos(1)
        .set_properties(user_properties={"x-version": "1.0.0"})
        .build()
    )
    assert await client_v5.send("echo_props", rec, timeout=5) == {
        "tenant": "t",
        "x-version": "1.0.0",
    }
    [req] = await wait_for(sniffer_v5, "echo_props")
    rid = request_id(req, facts.V5_RECORD_REQUEST)
    assert req.qos == facts.V5_RECORD_REQUEST_QOS
    assert req.user_properties == facts.V5_RECORD_USER_PROPERTIES
    assert req.properties in ({"MessageExpiryInterval": 5}, {"MessageExpiryInterval": 4})
    [reply] = await wait_for(sniffer_v5, "echo_props/reply")
    assert reply.payload == facts.fill(facts.V5_RECORD_REPLY, rid)


async def test_v5_record_wins_and_client_wide_properties_alone(
    client_v5: ClientProxy, sniffer_v5: WireSniffer
) -> None:
    rec = MqttRecordBuilder(1).set_properties(user_properties={"tenant": "r"}).build()
    assert await client_v5.send("echo_props", rec, timeout=5) == {"tenant": "r"}
    assert await client_v5.send("echo_props", 1, timeout=5) == {"tenant": "t"}
    await client_v5.emit("user_created", {"a": 1})
    first, second = await wait_for(sniffer_v5, "echo_props", 2)
    assert first.user_properties == [("tenant", "r")]
    assert (second.qos, second.user_properties) == (0, [("tenant", "t")])
    [evt] = await wait_for(sniffer_v5, "user_created")
    assert (evt.payload, evt.user_properties) == (facts.EVENT, [("tenant", "t")])
