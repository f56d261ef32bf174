"""The payload-format features are opt-in: a nestpy service that also has ``envelope=False``
patterns, topic parameters and ``reply_qos`` answers a stock NestJS client on its default
patterns with the very bytes the NestJS service sends."""

from __future__ import annotations

from typing import Any

import nest_wire_facts as facts
import pytest
from interop_broker import PrivateMosquitto
from nest_peer import NestClient, NestReference
from nestpy_mirror import MirrorModule, start_mirror
from test_nest_client_to_nestpy import compare
from wire_sniffer import WireSniffer

from nestpy import Controller, Module
from nestpy.microservices import EventPattern, MessagePattern

pytestmark = pytest.mark.interop


@Controller()
class OptInController:
    @EventPattern("devices/+/raw", envelope=False)
    def raw(self, payload: bytes) -> None: ...

    @MessagePattern("rooms/{room}/temperature", reply_qos=1)
    def temperature(self, data: Any, room: str) -> str:
        return room


@Module(imports=[MirrorModule], controllers=[OptInController])
class OptInModule: ...


async def test_opt_in_features_leave_nests_wire_alone(
    mqtt_broker: PrivateMosquitto,
    nest_client: NestClient,
    nest_reference: NestReference,
    sniffer: WireSniffer,
) -> None:
    app = await start_mirror(mqtt_broker.url, OptInModule, client_id="nestpy-opt-in")
    try:
        _, replies = await compare(nest_reference, nest_client, sniffer, "sum", [1, 2, 3])
        assert replies == [facts.SUM_REPLY]
        _, replies = await compare(nest_reference, nest_client, sniffer, "count_up_sync", 3)
        assert replies == list(facts.STREAM_SYNC_REPLIES)
        _, replies = await compare(nest_reference, nest_client, sniffer, "fail_rpc", 1)
        assert replies == [facts.RPC_ERROR_STRING_REPLY]
        # A Nest client reaches a topic-parameter pattern like any wildcard one.
        result = await nest_client.asend("rooms/7/temperature", 1)
        assert result == {"ok": True, "values": ["7"]}
    finally:
        await app.close()
