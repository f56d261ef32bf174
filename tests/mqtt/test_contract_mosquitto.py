"""The transport contract on a real Mosquitto, MQTT 3.1.1 and 5."""

from __future__ import annotations

from typing import Any

import pytest

from nestpy.microservices import Transport
from nestpy.testing.transport_contract import (
    ContractSetup,
    ErrorContract,
    EventContract,
    PacketContract,
    QosContract,
    RequestReplyContract,
    SharedGroupContract,
    StreamContract,
    WildcardContract,
)
from nestpy_mqtt import MqttContext, MqttOptions, MqttRecordBuilder
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


def _record(
    data: Any, qos: int | None = None, user_properties: dict[str, str] | None = None
) -> Any:
    builder = MqttRecordBuilder(data)
    if qos is not None:
        builder.set_qos(qos)
    if user_properties is not None:
        builder.set_properties(user_properties=user_properties)
    return builder.build()


def _packet_qos(ctx: Any) -> int:
    assert isinstance(ctx, MqttContext)
    return ctx.get_packet().qos


class MosquittoConfig:
    @pytest.fixture
    def contract_setup(self, mqtt_broker: MosquittoBroker, mqtt_version: int) -> ContractSetup:
        def options(**overrides: Any) -> MqttOptions:
            return MqttOptions(url=mqtt_broker.url, protocol_version=mqtt_version, **overrides)

        return ContractSetup(
            transport=Transport.MQTT,
            server_options=options,
            client_options=options,
            packet_qos=_packet_qos,
            with_qos=lambda data, qos: MqttRecordBuilder(data).set_qos(qos).build(),
            record=_record,
            user_properties=mqtt_version == 5,
        )


class TestRequestReply(MosquittoConfig, RequestReplyContract): ...


class TestStreams(MosquittoConfig, StreamContract): ...


class TestErrors(MosquittoConfig, ErrorContract): ...


class TestEvents(MosquittoConfig, EventContract): ...


class TestWildcards(MosquittoConfig, WildcardContract): ...


class TestQos(MosquittoConfig, QosContract): ...


class TestPackets(MosquittoConfig, PacketContract): ...


class TestSharedGroup(MosquittoConfig, SharedGroupContract): ...
