"""Replies on Mosquitto: ``@MessagePattern(..., reply_qos=...)`` and a handler returning an
``MqttRecord`` (written as Nest writes it: only the options that were set)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from transport_support import Harness, Sniffer

from nestpy import Controller
from nestpy.microservices import MessagePattern
from nestpy_mqtt import MqttRecord, MqttRecordBuilder

pytestmark = pytest.mark.mqtt


@Controller()
class ReplyController:
    @MessagePattern("firm", reply_qos=1)
    def firm(self, data: Any) -> Any:
        return data

    @MessagePattern("loose")
    def loose(self, data: Any) -> Any:
        return data

    @MessagePattern("record")
    def record(self, data: Any) -> MqttRecord[Any]:
        return MqttRecordBuilder(data).set_qos(1).build()

    @MessagePattern("record/props")
    def record_props(self, data: Any) -> MqttRecord[Any]:
        return MqttRecordBuilder(data).set_properties(user_properties={"k": "v"}).build()


async def test_reply_qos_is_the_qos_of_the_reply(harness: Harness, sniffer: Sniffer) -> None:
    await harness.service(ReplyController)
    client = harness.client()
    assert await client.send("firm", 1, timeout=5) == 1
    assert await client.send("loose", 2, timeout=5) == 2
    (firm,) = await sniffer.wait("firm/reply")
    (loose,) = await sniffer.wait("loose/reply")
    assert firm.qos == 1  # the sniffer subscribed with QoS 2: it gets what was published
    assert loose.qos == 0


def test_reply_qos_must_be_an_mqtt_qos() -> None:
    with pytest.raises(ValueError, match="reply_qos must be 0, 1 or 2, not 3"):
        MessagePattern("x", reply_qos=3)


async def test_a_returned_record_writes_only_the_options_set(
    harness: Harness, sniffer: Sniffer
) -> None:
    await harness.service(ReplyController)
    client = harness.client()
    assert await client.send("record", 5, timeout=5) == {"data": 5, "options": {"qos": 1}}
    assert await client.send("record/props", "x", timeout=5) == {
        "data": "x",
        "options": {"properties": {"userProperties": {"k": "v"}}},
    }
    (reply,) = await sniffer.wait("record/reply")
    packet = json.loads(reply.payload)
    assert reply.payload.startswith(b'{"response":{"data":5,"options":{"qos":1}},"isDisposed":true')
    assert packet["id"]
