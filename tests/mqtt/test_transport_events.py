"""Events over Mosquitto: ``emit``, several handlers per pattern, failures, external
publishers."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from pydantic import BaseModel
from transport_support import Harness, Sniffer, eventually

from nestpy import Controller, Injectable
from nestpy.microservices import EventPattern
from nestpy_mqtt import MqttContext, MqttRecordBuilder

pytestmark = pytest.mark.mqtt


class Temperature(BaseModel):
    celsius: float


@Injectable()
class Seen:
    """What the handlers saw, shared by both controllers."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.partner_ran = asyncio.Event()
        self.thread_names: list[str] = []


@Controller()
class DeviceController:
    def __init__(self, seen: Seen) -> None:
        self.seen = seen.seen
        self.shared = seen

    @EventPattern("devices/+/state")
    async def state(self, data: Any, ctx: MqttContext) -> None:
        self.seen.append(("state", ctx.get_topic(), data))

    @EventPattern("together")
    async def waits_for_partner(self, data: Any) -> None:
        # Nest runs the handlers of one event concurrently: this one needs the other to run.
        await asyncio.wait_for(self.shared.partner_ran.wait(), 5)
        self.seen.append("waited")

    @EventPattern("fails")
    def fails(self, data: Any) -> None:
        raise RuntimeError("event handler failed")

    @EventPattern("temperature")
    def temperature(self, data: Temperature) -> None:
        self.seen.append(data.celsius)

    @EventPattern("blocking", run_in_thread=True)
    def blocking(self, data: Any) -> None:
        self.shared.thread_names.append(threading.current_thread().name)


@Controller()
class PartnerController:
    def __init__(self, seen: Seen) -> None:
        self.shared = seen

    @EventPattern("together")
    async def signals(self, data: Any) -> None:
        await asyncio.sleep(0)
        self.shared.partner_ran.set()


@pytest.fixture
async def devices(harness: Harness) -> Seen:
    app = await harness.service(DeviceController, PartnerController, providers=[Seen])
    seen: Seen = app.get(Seen)
    return seen


async def test_emit_is_sent_without_being_awaited_and_qos_is_acknowledged(
    harness: Harness, devices: Seen
) -> None:
    sniffer = await Sniffer(harness.url).start()
    try:
        client = harness.client()
        client.emit("devices/1/state", "on")  # hot: published even if nobody awaits it
        await client.emit("devices/2/state", MqttRecordBuilder("off").set_qos(1).build())
        await eventually(lambda: len(devices.seen) == 2)
        assert sorted(devices.seen) == [
            ("state", "devices/1/state", "on"),
            ("state", "devices/2/state", "off"),
        ]
        [second] = await sniffer.wait("devices/2/state")
        assert (second.payload, second.qos) == (
            b'{"pattern":"devices/2/state","data":"off"}',
            1,
        )
    finally:
        await sniffer.close()


async def test_handlers_of_one_event_run_concurrently(harness: Harness, devices: Seen) -> None:
    await harness.client().emit("together", 1)
    await eventually(lambda: "waited" in devices.seen)


async def test_failing_or_invalid_events_are_logged_and_the_service_goes_on(
    harness: Harness, devices: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    client = harness.client()
    with caplog.at_level(logging.WARNING):
        await client.emit("fails", 1)
        await client.emit("temperature", {"celsius": "warm"})
        await client.emit("temperature", {"celsius": 21.5})
        await eventually(lambda: devices.seen == [21.5])
    [crash] = [r for r in caplog.records if r.name == "nestpy.RpcExceptionsHandler"]
    assert crash.exc_info is not None
    assert str(crash.exc_info[1]) == "event handler failed"
    [invalid] = [r for r in caplog.records if "DeviceController.temperature failed" in r.message]
    assert "Payload validation failed" in invalid.message


async def test_run_in_thread_event_handler(harness: Harness, devices: Seen) -> None:
    await harness.client().emit("blocking", 1)
    await eventually(lambda: devices.thread_names)
    assert devices.thread_names != [threading.main_thread().name]


async def test_external_json_without_envelope_is_the_event_data(
    harness: Harness, devices: Seen
) -> None:
    sniffer = await Sniffer(harness.url).start()
    try:
        await sniffer.publish("devices/9/state", b'{"power":"on","level":3}')
        await sniffer.publish("temperature", b'{"celsius":19}')
        await eventually(lambda: len(devices.seen) == 2)
        assert ("state", "devices/9/state", {"power": "on", "level": 3}) in devices.seen
        assert 19.0 in devices.seen
    finally:
        await sniffer.close()
