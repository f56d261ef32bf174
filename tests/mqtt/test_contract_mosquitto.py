"""The transport contract on a real Mosquitto, MQTT 3.1.1 and 5."""

from __future__ import annotations

from typing import Any

import pytest

from nestpy.microservices import Transport
from nestpy.testing.transport_contract import (
    ContractSetup,
    ErrorContract,
    EventContract,
    QosContract,
    RequestReplyContract,
    SharedGroupContract,
    StreamContract,
    WildcardContract,
)
from nestpy_mqtt import MqttContext, MqttOptions, MqttRecordBuilder
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


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
        )


class TestRequestReply(MosquittoConfig, RequestReplyContract): ...


class TestStreams(MosquittoConfig, StreamContract): ...


class TestErrors(MosquittoConfig, ErrorContract): ...


class TestEvents(MosquittoConfig, EventContract): ...


class TestWildcards(MosquittoConfig, WildcardContract): ...


class TestQos(MosquittoConfig, QosContract): ...


class TestSharedGroup(MosquittoConfig, SharedGroupContract): ...
