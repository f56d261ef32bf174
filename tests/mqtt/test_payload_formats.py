"""Devices and other non-Nest publishers on Mosquitto: ``envelope=False`` patterns, and
serializers / deserializers (``MqttOptions(serializer=..., deserializer=...)``), with plain
paho peers playing the devices. MQTT 3.1.1 and 5."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from payload_peers import PahoPeer
from pydantic import BaseModel
from transport_support import Harness, eventually

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, Payload
from nestpy.microservices.serializers import (
    JsonDeserializer,
    JsonSerializer,
    RawDeserializer,
    RawSerializer,
)
from nestpy_mqtt import MqttContext, MqttOptions

pytestmark = pytest.mark.mqtt


class Reading(BaseModel):
    data: float
    unit: str


@Controller()
class DeviceController:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @EventPattern("sensors/+/json", envelope=False)
    def json_reading(self, payload: Any, ctx: MqttContext) -> None:
        self.seen.append((ctx.get_topic(), payload))

    @EventPattern("sensors/+/raw", envelope=False)
    def raw_reading(self, payload: bytes) -> None:
        self.seen.append(payload)

    @EventPattern("sensors/+/model", envelope=False)
    def model_reading(self, reading: Reading) -> None:
        self.seen.append(reading)

    @EventPattern("sensors/+/unit", envelope=False)
    def unit_only(self, unit: Annotated[str, Payload("unit")]) -> None:
        self.seen.append(unit)

    @EventPattern("sensors/+/nest")
    def enveloped(self, data: Any) -> None:
        self.seen.append(data)


@pytest.fixture
async def device(harness: Harness) -> AsyncIterator[PahoPeer]:
    peer = await PahoPeer(harness.url, harness.protocol_version).start()
    yield peer
    peer.stop()


async def _service(harness: Harness, **options: Any) -> DeviceController:
    app = await harness.service(DeviceController, **options)
    controller: DeviceController = app.get(DeviceController)
    return controller


async def test_envelope_false_hands_over_the_whole_payload(
    harness: Harness, device: PahoPeer
) -> None:
    controller = await _service(harness)
    device.publish("sensors/1/json", b'{"data": 5, "unit": "C"}')
    device.publish("sensors/2/json", b'{"pattern": "p", "data": 1, "id": "x"}')
    device.publish("sensors/3/json", b"ON")
    device.publish("sensors/4/json", b"[1, 2]")
    device.publish("sensors/5/nest", b'{"data": 5, "unit": "C"}')  # Nest's rule: cropped
    await eventually(lambda: len(controller.seen) == 5)
    assert controller.seen[:4] == [
        ("sensors/1/json", {"data": 5, "unit": "C"}),
        ("sensors/2/json", {"pattern": "p", "data": 1, "id": "x"}),  # not a request, not cropped
        ("sensors/3/json", "ON"),
        ("sensors/4/json", [1, 2]),
    ]
    assert controller.seen[4] == 5


async def test_bytes_models_and_keys(harness: Harness, device: PahoPeer) -> None:
    controller = await _service(harness)
    device.publish("sensors/1/raw", b"\x00\xff\x10")
    device.publish("sensors/1/model", b'{"data": 21.5, "unit": "C"}')
    device.publish("sensors/1/unit", b'{"data": 21.5, "unit": "K"}')
    await eventually(lambda: len(controller.seen) == 3)
    assert sorted(map(repr, controller.seen)) == sorted(
        map(repr, [b"\x00\xff\x10", Reading(data=21.5, unit="C"), "K"])
    )


async def test_a_payload_failing_the_model_is_logged_and_the_service_goes_on(
    harness: Harness, device: PahoPeer, caplog: pytest.LogCaptureFixture
) -> None:
    controller = await _service(harness)
    with caplog.at_level(logging.WARNING):
        device.publish("sensors/9/model", b'{"data": "hot"}')
        device.publish("sensors/9/model", b'{"data": 1, "unit": "C"}')
        await eventually(lambda: controller.seen == [Reading(data=1, unit="C")])
    failures = [r for r in caplog.records if "sensors/9/model" in r.getMessage()]
    assert len(failures) == 1
    assert "Payload validation failed" in failures[0].getMessage()


class Boom:
    def deserialize(self, value: Any, options: Any = None) -> Any:
        if value == b"boom":
            raise ValueError("not a packet")
        return {"pattern": options["channel"], "data": value.decode()}


async def test_a_deserializer_that_raises_drops_the_message_once_logged(
    harness: Harness, device: PahoPeer, caplog: pytest.LogCaptureFixture
) -> None:
    controller = await _service(harness, deserializer=Boom())
    with caplog.at_level(logging.WARNING):
        device.publish("sensors/1/nest", b"boom")
        device.publish("sensors/1/nest", b"fine")
        await eventually(lambda: controller.seen == ["fine"])
    dropped = [
        r.getMessage() for r in caplog.records if "could not be deserialized" in r.getMessage()
    ]
    assert dropped == [
        "Dropped a message on 'sensors/1/nest': it could not be deserialized "
        "(ValueError: not a packet)"
    ]


async def test_server_deserializers(harness: Harness, device: PahoPeer) -> None:
    controller = await _service(harness, deserializer=JsonDeserializer())
    device.publish("sensors/1/nest", b'{"data": 5, "unit": "C"}')
    await eventually(lambda: controller.seen == [{"data": 5, "unit": "C"}])
    raw = await _service(harness, deserializer=RawDeserializer())
    device.publish("sensors/2/nest", b"\x01\x02")
    await eventually(lambda: b"\x01\x02" in raw.seen)


async def test_client_serializers_publish_without_the_envelope(
    harness: Harness, device: PahoPeer
) -> None:
    await device.start("lamp/#")
    raw = harness.client(serializer=RawSerializer())
    await raw.emit("lamp/1", "ON")
    await raw.emit("lamp/2", b"\x00\x01")
    plain = harness.client(serializer=JsonSerializer())
    await plain.emit("lamp/3", {"on": True})
    nest = harness.client()
    await nest.emit("lamp/4", "ON")
    assert (await device.wait("lamp/1"))[0].payload == b"ON"
    assert (await device.wait("lamp/2"))[0].payload == b"\x00\x01"
    assert (await device.wait("lamp/3"))[0].payload == b'{"on":true}'
    assert (await device.wait("lamp/4"))[0].payload == b'{"pattern":"lamp/4","data":"ON"}'


def test_serializer_options_are_checked() -> None:
    with pytest.raises(ValueError, match="has no serialize"):
        MqttOptions(serializer=object())
    with pytest.raises(ValueError, match="has no deserialize"):
        MqttOptions(deserializer=JsonSerializer())


class Msgpack:
    """A binary codec: Nest's packets, written as MessagePack."""

    def serialize(self, value: Any, options: Any = None) -> bytes:
        import msgpack

        packed: bytes = msgpack.packb(value)
        return packed

    def deserialize(self, value: Any, options: Any = None) -> Any:
        import msgpack

        return msgpack.unpackb(value)


@Controller()
class SumController:
    @MessagePattern("sum")
    def total(self, numbers: list[int]) -> int:
        return sum(numbers)


async def test_a_binary_codec_both_ways(harness: Harness, device: PahoPeer) -> None:
    pytest.importorskip("msgpack")
    import msgpack

    await device.start("sum/reply")
    codec = Msgpack()
    await harness.service(SumController, serializer=codec, deserializer=codec)
    client = harness.client(serializer=codec, deserializer=codec)
    assert await client.send("sum", [1, 2, 3], timeout=5) == 6
    (reply,) = await device.wait("sum/reply")
    assert msgpack.unpackb(reply.payload)["response"] == 6
