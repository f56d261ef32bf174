"""Hostile or malformed packets at a live service on a private Mosquitto: each one gets a clear
error reply or a logged drop, and the service keeps answering."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel
from transport_support import Harness, Sniffer, eventually, make_module

from nestpy import Controller
from nestpy.microservices import MessagePattern

pytestmark = pytest.mark.mqtt

LIMIT = 10_000


class Order(BaseModel):
    item: str
    quantity: int


@Controller()
class SumController:
    def __init__(self) -> None:
        self.release = asyncio.Event()

    @MessagePattern("bad/sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("bad/order")
    def order(self, data: Order) -> str:
        return f"{data.quantity} x {data.item}"

    @MessagePattern("bad/wait")
    async def wait(self, data: Any) -> str:
        await self.release.wait()
        return "released"


@pytest.fixture
def mqtt_version() -> int:
    return 5  # these tests need MQTT 5 (properties, reason codes)


@pytest.fixture
async def service(harness: Harness) -> Any:
    return await harness.app(
        _module(), server={"max_payload_bytes": LIMIT}, client_id="bad-input-service"
    )


def _module() -> type:
    return make_module([SumController])


def packet(data: Any, request_id: Any, pattern: Any = "bad/sum") -> bytes:
    return json.dumps({"pattern": pattern, "data": data, "id": request_id}).encode()


async def still_answers(harness: Harness) -> None:
    assert await harness.client().send("bad/sum", [20, 22], timeout=5) == 42


DEEP = 4_000  # over Python's recursion limit, under max_payload_bytes
DROPPED = [
    ("not json", b"not json at all", "Event handler SumController.sum failed"),
    ("truncated", packet([1, 2], "t1")[:-3], "Event handler SumController.sum failed"),
    (
        "deep nesting",
        b'{"pattern":"bad/sum","id":"deep","data":' + b"[" * DEEP + b"]" * DEEP + b"}",
        "its JSON is nested too deeply",
    ),
    (
        "invalid utf-8 in the id",
        b'{"pattern":"bad/sum","data":[1],"id":"\xff\xfe"}',
        "not valid UTF-8 and has no readable id",
    ),
    (
        "invalid utf-8 event",
        b'{"pattern":"bad/sum","data":"caf\xe9"}',
        "not valid UTF-8 and has no readable id",
    ),
    ("over max_payload_bytes", packet(list(range(5000)), "big"), "over max_payload_bytes"),
]


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("payload", "logged"), [c[1:] for c in DROPPED], ids=[c[0] for c in DROPPED]
)
async def test_unanswerable_packets_are_logged_and_dropped(
    harness: Harness,
    sniffer: Sniffer,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    logged: str,
) -> None:
    """Without a parseable id there is nobody to answer: the drop is logged, with the reason."""
    caplog.set_level(logging.WARNING)
    await sniffer.publish("bad/sum", payload)
    await eventually(lambda: logged in caplog.text)
    await still_answers(harness)
    replies = [json.loads(m.payload) for m in await sniffer.wait("bad/sum/reply")]
    assert [r["response"] for r in replies] == [42]  # only the check's own request


@pytest.mark.usefixtures("service")
async def test_invalid_utf8_request_gets_an_error_reply(
    harness: Harness, sniffer: Sniffer, caplog: pytest.LogCaptureFixture
) -> None:
    """Valid JSON holding invalid UTF-8 (Latin-1 "café") but a readable id: the caller gets an
    error reply at once instead of waiting for its timeout, and the service logs it once."""
    caplog.set_level(logging.WARNING)
    await sniffer.publish("bad/sum", b'{"pattern":"bad/sum","data":"caf\xe9","id":"u1"}')
    [reply] = await sniffer.wait("bad/sum/reply")
    body = json.loads(reply.payload)
    assert body["id"] == "u1"
    assert body["isDisposed"] is True
    assert body["err"]["status"] == "error"
    assert "not valid UTF-8" in body["err"]["message"]
    assert caplog.text.count("not valid UTF-8") == 1
    await still_answers(harness)


ANSWERED = [
    ("object id", packet([1, 2], {"not": "a string"}), {"response": 3, "isDisposed": True}),
    ("number id", packet([1, 2], 7), {"response": 3, "isDisposed": True}),
    ("number pattern", packet([1, 2], "p", pattern=42), {"response": 3, "isDisposed": True}),
    ("null pattern", packet([1, 2], "n", pattern=None), {"response": 3, "isDisposed": True}),
    ("id and data only", b'{"data":[4],"id":"d"}', {"response": 4, "isDisposed": True}),
    ("under the limit", packet(list(range(100)), "small"), {"response": 4950, "isDisposed": True}),
]


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in ANSWERED], ids=[c[0] for c in ANSWERED]
)
async def test_odd_but_parseable_requests_are_answered_with_their_id(
    harness: Harness, sniffer: Sniffer, payload: bytes, expected: dict[str, Any]
) -> None:
    """Nest routes by topic and echoes any JSON id; so does nestpy."""
    await sniffer.publish("bad/sum", payload)
    [reply] = await sniffer.wait("bad/sum/reply")
    assert json.loads(reply.payload) == {**expected, "id": json.loads(payload)["id"]}
    await still_answers(harness)


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("topic", "data", "loc"),
    [
        ("bad/sum", "abc", []),
        ("bad/sum", [1, "x"], [1]),
        ("bad/order", {"item": "tea"}, ["quantity"]),
        ("bad/order", {"item": "tea", "quantity": "many"}, ["quantity"]),
        ("bad/order", [1, 2], []),
    ],
)
async def test_validation_failures_get_an_error_reply(
    harness: Harness, sniffer: Sniffer, topic: str, data: Any, loc: list[Any]
) -> None:
    await sniffer.publish(topic, packet(data, "v1", pattern=topic))
    [reply] = await sniffer.wait(f"{topic}/reply")
    body = json.loads(reply.payload)
    assert body["id"] == "v1"
    assert body["isDisposed"] is True
    assert body["err"]["message"] == "Payload validation failed"
    assert body["err"]["errors"][0]["loc"] == loc
    await still_answers(harness)


@pytest.mark.usefixtures("service")
async def test_client_ignores_foreign_and_malformed_replies(
    harness: Harness, sniffer: Sniffer, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage on a client's reply topic (unknown ids, ids of the wrong type, invalid UTF-8,
    deep nesting, non-JSON) neither completes nor breaks the request waiting there."""
    caplog.set_level(logging.WARNING)
    client = harness.client()
    waiting = asyncio.ensure_future(client.send("bad/wait", 1, timeout=10))
    await sniffer.wait("bad/wait")
    garbage = [
        b'{"response":1,"isDisposed":true,"id":"unknown-id"}',
        b'{"response":1,"isDisposed":true,"id":{"a":1}}',
        b'{"response":1,"isDisposed":true,"id":[1,2]}',
        b'{"response":1,"isDisposed":true,"id":null}',
        b'{"err":"x","id":"\xff"}',
        b"[" * 100_000 + b"]" * 100_000,
        b"\x00\x01not json",
        b"",
    ]
    for payload in garbage:
        await sniffer.publish("bad/wait/reply", payload)
    await sniffer.wait("bad/wait/reply", len(garbage))
    assert not waiting.done()
    service = harness.apps[0]
    service.get(SumController).release.set()
    assert await waiting == "released"
    assert await client.send("bad/sum", [1, 1], timeout=5) == 2


async def test_max_payload_bytes_must_be_positive(harness: Harness) -> None:
    with pytest.raises(ValueError, match="max_payload_bytes must be positive"):
        await harness.app(_module(), listen=False, server={"max_payload_bytes": 0})
