"""MQTT 5 request/response on Mosquitto: a plain paho MQTT 5 caller calls a nestpy service
with a Response Topic and Correlation Data, in Nest's envelope or as bare JSON; the nestpy
client's ``reply_topic``; bad Response Topics."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from payload_peers import PahoPeer
from pydantic import BaseModel
from transport_support import Harness, Sniffer, eventually

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, RpcException
from nestpy.microservices.serializers import JsonSerializer

pytestmark = pytest.mark.mqtt


@pytest.fixture
def mqtt_version() -> int:
    return 5


class Reading(BaseModel):
    celsius: float


@Controller()
class CalcController:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @MessagePattern("sum")
    def total(self, data: Any) -> Any:
        numbers = data["data"] if isinstance(data, dict) else data
        return sum(numbers)

    @MessagePattern("fail")
    def fail(self, data: Any) -> None:
        raise RpcException("no such account")

    @MessagePattern("count")
    def count(self, n: int) -> Iterator[int]:
        yield from range(n)

    @MessagePattern("device/+/cmd", envelope=False, reply_qos=1)
    def command(self, payload: bytes) -> str:
        return payload.decode().upper()

    @MessagePattern("typed", envelope=False)
    def typed(self, reading: Reading) -> float:
        return reading.celsius

    @EventPattern("note")
    def note(self, data: Any) -> None:
        self.events.append(data)


@pytest.fixture
async def caller(harness: Harness) -> AsyncIterator[PahoPeer]:
    peer = await PahoPeer(harness.url, 5).start("caller/replies")
    yield peer
    peer.stop()


async def test_a_plain_mqtt5_client_calls_with_bare_json(
    harness: Harness, caller: PahoPeer
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    # {"data": ...} from a plain client is its payload, not Nest's envelope: not cropped.
    caller.publish(
        "sum", b'{"data": [1, 2, 3]}', response_topic="caller/replies", correlation_data=b"c-1"
    )
    caller.publish("fail", b"{}", response_topic="caller/replies", correlation_data=b"c-2")
    replies = await caller.wait("caller/replies", 2)
    by_id = {r.correlation_data: r for r in replies}
    assert by_id[b"c-1"].payload == b"6"
    assert by_id[b"c-1"].user_properties == {}
    assert json.loads(by_id[b"c-2"].payload) == {"status": "error", "message": "no such account"}
    assert by_id[b"c-2"].user_properties == {"error": "true"}


async def test_a_nest_envelope_request_is_answered_on_its_response_topic(
    harness: Harness, caller: PahoPeer, sniffer: Sniffer
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    request = b'{"pattern":"count","data":3,"id":"r-1"}'
    caller.publish("count", request, response_topic="caller/replies", correlation_data=b"k")
    replies = await caller.wait("caller/replies", 3)
    assert [r.payload for r in replies] == [
        b'{"response":0,"id":"r-1"}',
        b'{"response":1,"id":"r-1"}',
        b'{"response":2,"isDisposed":true,"id":"r-1"}',
    ]
    assert {r.correlation_data for r in replies} == {b"k"}
    assert sniffer.on("count/reply") == []


async def test_an_envelope_false_request_with_bytes_and_reply_qos(
    harness: Harness, caller: PahoPeer
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    caller.publish("device/7/cmd", b"on", response_topic="caller/replies", correlation_data=b"d")
    (reply,) = await caller.wait("caller/replies")
    assert (reply.payload, reply.correlation_data, reply.qos) == (b'"ON"', b"d", 1)


async def test_an_invalid_response_topic_drops_the_message_once_logged(
    harness: Harness, caller: PahoPeer, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    with caplog.at_level(logging.WARNING):
        caller.publish("sum", b"[1]", response_topic="caller/+", correlation_data=b"x")
        caller.publish("sum", b"[2]", response_topic="caller/replies", correlation_data=b"y")
        (reply,) = await caller.wait("caller/replies")
    assert (reply.payload, reply.correlation_data) == (b"2", b"y")
    dropped = [r.getMessage() for r in caplog.records if "Response Topic" in r.getMessage()]
    assert dropped == [
        "Dropped a message on 'sum': its Response Topic 'caller/+' is not a topic name "
        "(empty, or with a wildcard)"
    ]


async def test_a_deserializer_failure_answers_a_request_with_an_error(
    harness: Harness, caller: PahoPeer
) -> None:
    class Strict:
        def deserialize(self, value: Any, options: Any = None) -> Any:
            raise ValueError("unreadable")

    await harness.service(CalcController, deserializer=Strict(), use_response_topic=True)
    caller.publish("sum", b"[1]", response_topic="caller/replies", correlation_data=b"z")
    (reply,) = await caller.wait("caller/replies")
    assert reply.user_properties == {"error": "true"}
    assert json.loads(reply.payload) == {
        "status": "error",
        "message": "The request could not be deserialized: ValueError: unreadable",
    }


async def test_the_nestpy_client_with_its_own_reply_topic(
    harness: Harness, sniffer: Sniffer
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    client = harness.client(reply_topic="replies/client-a")
    assert await client.send("sum", [1, 2], timeout=5) == 3
    assert [v async for v in client.send("count", 2, timeout=5)] == [0, 1]
    with pytest.raises(RpcException) as caught:
        await client.send("fail", 1, timeout=5)
    assert caught.value.get_error() == {"status": "error", "message": "no such account"}
    await eventually(lambda: len(sniffer.on("replies/client-a")) == 4)
    assert sniffer.on("sum/reply") == []
    assert sniffer.on("count/reply") == []


async def test_the_nestpy_client_sending_bare_json_with_its_reply_topic(
    harness: Harness, sniffer: Sniffer
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    client = harness.client(reply_topic="replies/client-b", serializer=JsonSerializer())
    assert await client.send("sum", [4, 5], timeout=5) == 9
    with pytest.raises(RpcException) as caught:
        await client.send("fail", 1, timeout=5)
    assert caught.value.get_error() == {"status": "error", "message": "no such account"}
    (request,) = sniffer.on("sum")
    assert request.payload == b"[4,5]"


async def test_by_default_a_response_topic_is_answered_as_nest_does(
    harness: Harness, caller: PahoPeer, sniffer: Sniffer
) -> None:
    await harness.service(CalcController)  # use_response_topic=False, Nest's wire
    request = b'{"pattern":"sum","data":[1],"id":"n-1"}'
    caller.publish("sum", request, response_topic="caller/replies", correlation_data=b"k")
    (reply,) = await sniffer.wait("sum/reply")
    assert reply.payload == b'{"response":1,"isDisposed":true,"id":"n-1"}'
    assert caller.on("caller/replies") == []


def test_reply_topic_needs_mqtt5_and_a_topic_name() -> None:
    from nestpy_mqtt import MqttOptions

    with pytest.raises(ValueError, match="reply_topic needs MQTT 5"):
        MqttOptions(reply_topic="replies/a")
    with pytest.raises(ValueError, match="must be a topic name"):
        MqttOptions(reply_topic="replies/#", protocol_version=5)


async def test_a_payload_failing_the_model_is_answered_with_the_validation_error(
    harness: Harness, caller: PahoPeer
) -> None:
    await harness.service(CalcController, use_response_topic=True)
    caller.publish(
        "typed", b'{"celsius": "hot"}', response_topic="caller/replies", correlation_data=b"v1"
    )
    caller.publish(
        "typed", b'{"celsius": 20}', response_topic="caller/replies", correlation_data=b"v2"
    )
    replies = {r.correlation_data: r for r in await caller.wait("caller/replies", 2)}
    assert replies[b"v1"].user_properties == {"error": "true"}
    assert json.loads(replies[b"v1"].payload)["message"] == "Payload validation failed"
    assert replies[b"v2"].payload == b"20.0"
