"""The record builder and user properties on Mosquitto: QoS, retain, MQTT 5 properties, and
client-wide ``user_properties`` merged under each record's (case 19 of nest-reference.md)."""

from __future__ import annotations

from typing import Any

import pytest
from transport_support import Harness, Sniffer, eventually, wire_facts

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern
from nestpy_mqtt import MqttContext, MqttRecordBuilder
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
F = wire_facts()


@Controller()
class PropsController:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @MessagePattern("echo_props")
    def echo_props(self, data: Any, ctx: MqttContext) -> dict[str, str]:
        return ctx.get_packet().properties.user_properties

    @MessagePattern("packet")
    def packet(self, data: Any, ctx: MqttContext) -> dict[str, Any]:
        packet = ctx.get_packet()
        props = packet.properties
        return {
            "data": data,
            "qos": packet.qos,
            "content_type": props.content_type,
            "response_topic": props.response_topic,
            "correlation_data": props.correlation_data and props.correlation_data.decode(),
            "expiry": props.message_expiry_interval,
        }

    @EventPattern("props_event")
    def props_event(self, data: Any, ctx: MqttContext) -> None:
        self.events.append((data, ctx.get_packet().properties.user_properties))

    @EventPattern("retained/+")
    def retained(self, data: Any, ctx: MqttContext) -> None:
        self.events.append((ctx.get_topic(), data, ctx.get_packet().retain))


@pytest.fixture
def mqtt_version() -> int:
    return 5  # these tests need MQTT 5 (properties, reason codes)


async def test_record_qos_and_user_properties_merged_with_the_clients(
    harness: Harness, sniffer: Sniffer
) -> None:
    await harness.service(PropsController)
    client = harness.client(user_properties=F.V5_CLIENT_USER_PROPERTIES)
    record = (
        MqttRecordBuilder(":cat:")
        .set_qos(1)
        .set_properties(user_properties={"x-version": "1.0.0"})
        .build()
    )
    assert await client.send("echo_props", record, timeout=5) == {
        "tenant": "t",
        "x-version": "1.0.0",
    }
    [request] = await sniffer.wait("echo_props")
    rid = F.match(F.V5_RECORD_REQUEST, request.payload)
    assert rid is not None
    assert request.qos == F.V5_RECORD_REQUEST_QOS
    assert request.user_properties == F.V5_RECORD_USER_PROPERTIES  # client-wide first
    [reply] = await sniffer.wait("echo_props/reply")
    assert reply.payload == F.fill(F.V5_RECORD_REPLY, rid)
    assert (reply.qos, reply.user_properties) == (0, [])  # replies never carry properties


async def test_record_wins_on_a_clash_and_plain_sends_and_events_carry_the_clients(
    harness: Harness,
) -> None:
    app = await harness.service(PropsController)
    client = harness.client(user_properties={"tenant": "t", "region": "eu"})
    clash = MqttRecordBuilder(1).set_properties(userProperties={"tenant": "r"}).build()
    assert await client.send("echo_props", clash, timeout=5) == {"tenant": "r", "region": "eu"}
    assert await client.send("echo_props", 1, timeout=5) == {"tenant": "t", "region": "eu"}
    await client.emit(
        "props_event", MqttRecordBuilder(2).set_properties(user_properties={}).build()
    )
    await client.emit("props_event", 3)
    controller: PropsController = app.get(PropsController)
    await eventually(lambda: len(controller.events) == 2)
    assert controller.events == [(n, {"tenant": "t", "region": "eu"}) for n in (2, 3)]


async def test_other_mqtt5_properties_reach_the_handler(harness: Harness) -> None:
    await harness.service(PropsController)  # Nest's wire: answered on packet/reply
    record = (
        MqttRecordBuilder({"n": 1})
        .set_qos(2)
        .set_properties(
            content_type="application/json",
            response_topic="somewhere/else",
            correlation_data=b"c-1",
            message_expiry_interval=60,
        )
        .build()
    )
    seen = await harness.client().send("packet", record, timeout=5)
    assert seen == {
        "data": {"n": 1},
        "qos": 0,  # the service subscribed with QoS 0
        "content_type": "application/json",
        "response_topic": "somewhere/else",
        "correlation_data": "c-1",
        "expiry": 60,
    }


async def test_mqtt_311_sends_no_properties(mqtt_broker: MosquittoBroker, sniffer: Sniffer) -> None:
    peers = Harness(mqtt_broker.url, 4)
    try:
        await peers.service(PropsController)
        client = peers.client(user_properties={"tenant": "t"})
        record = MqttRecordBuilder(":cat:").set_qos(1).set_properties(user_properties={"x": "1"})
        assert await client.send("echo_props", record.build(), timeout=5) == {}
        [request] = await sniffer.wait("echo_props")
        assert (request.qos, request.user_properties) == (1, [])
    finally:
        await peers.close()


async def test_retained_event_reaches_a_service_started_later(
    harness: Harness, sniffer: Sniffer
) -> None:
    client = harness.client()
    await client.emit(
        "retained/config", MqttRecordBuilder({"v": 1}).set_qos(1).set_retain(True).build()
    )
    try:
        app = await harness.service(PropsController)
        controller: PropsController = app.get(PropsController)
        await eventually(lambda: controller.events)
        assert controller.events == [("retained/config", {"v": 1}, True)]
    finally:
        await sniffer.publish("retained/config", b"", qos=1)  # clear it
