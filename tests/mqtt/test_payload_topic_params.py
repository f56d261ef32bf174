"""Topic parameters on Mosquitto: ``@MessagePattern("sensors/{device_id}/temperature")``
subscribes ``sensors/+/temperature`` and fills ``device_id``; ``Path()`` for the explicit form."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import pytest
from payload_peers import PahoPeer
from transport_support import Harness, eventually

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, Path, RpcException, UseGuards
from nestpy.microservices.decorators import pattern_metadata

pytestmark = pytest.mark.mqtt


class Allow:
    def can_activate(self, context: Any) -> bool:
        return True


@Controller()
class SensorController:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @MessagePattern("sensors/{device_id}/temperature")
    def temperature(self, data: float, device_id: str) -> dict[str, Any]:
        return {"device": device_id, "celsius": data}

    @MessagePattern("rooms/{room}/lamps/{lamp}")
    @UseGuards(Allow)
    async def lamp(
        self, data: Any, room: Annotated[int, Path()], n: Annotated[str, Path("lamp")]
    ) -> Any:
        return [room, n, data]

    @EventPattern("devices/{device_id}/raw", envelope=False)
    def raw(self, payload: bytes, device_id: str) -> None:
        self.seen.append((device_id, payload))


def test_the_route_is_subscribed_with_plus() -> None:
    (meta,) = pattern_metadata(SensorController.temperature)
    assert meta.routes == ("sensors/+/temperature",)
    assert meta.extras["path_params"] == {"device_id": 1}


def test_bad_topic_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="must be a whole segment"):
        MessagePattern("sensors/x{id}/t")
    with pytest.raises(ValueError, match="is repeated"):
        MessagePattern("a/{id}/{id}")
    with pytest.raises(ValueError, match="place their topic parameters differently"):
        MessagePattern(["a/{id}", "{id}/a"])


async def test_topic_parameters_fill_the_handler(harness: Harness) -> None:
    app = await harness.service(SensorController)
    client = harness.client()
    assert await client.send("sensors/kitchen-1/temperature", 21.5, timeout=5) == {
        "device": "kitchen-1",
        "celsius": 21.5,
    }
    assert await client.send("rooms/12/lamps/desk", "on", timeout=5) == [12, "desk", "on"]
    with pytest.raises(RpcException) as caught:
        await client.send("rooms/attic/lamps/desk", "on", timeout=5)
    assert caught.value.get_error()["message"] == (
        "Topic parameter 'room' is invalid in 'rooms/attic/lamps/desk'"
    )
    peer = await PahoPeer(harness.url, harness.protocol_version).start()
    try:
        peer.publish("devices/d-9/raw", b"\x01")
        controller = app.get(SensorController)
        await eventually(lambda: controller.seen == [("d-9", b"\x01")])
    finally:
        peer.stop()


async def test_an_unknown_path_marker_fails_at_startup(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    @Controller()
    class Wrong:
        @MessagePattern("a/{x}")
        def handler(self, data: Any, y: Annotated[str, Path()]) -> None: ...

    with caplog.at_level(logging.ERROR), pytest.raises(ValueError, match="topic parameter"):
        await harness.service(Wrong)
