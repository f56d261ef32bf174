"""The transport contract on the in-memory transport (no broker).

Records are built with the MQTT transport's ``MqttRecordBuilder``, as a user's code does: the
in-memory transport must treat them as ``ClientMqtt`` does.
"""

from __future__ import annotations

from typing import Any

import pytest

from nestpy.microservices import Transport
from nestpy.testing.in_memory import InMemoryBroker, InMemoryOptions
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
from nestpy_mqtt import MqttRecordBuilder


def record(data: Any, qos: int | None = None, user_properties: dict[str, str] | None = None) -> Any:
    builder = MqttRecordBuilder(data)
    if qos is not None:
        builder.set_qos(qos)
    if user_properties is not None:
        builder.set_properties(user_properties=user_properties)
    return builder.build()


class InMemoryConfig:
    @pytest.fixture
    def contract_setup(self) -> ContractSetup:
        broker = InMemoryBroker()
        return ContractSetup(
            transport=Transport.IN_MEMORY,
            server_options=lambda **kw: InMemoryOptions(broker=broker, **kw),
            client_options=lambda **kw: InMemoryOptions(broker=broker, **kw),
            packet_qos=lambda ctx: ctx.get_packet().qos,
            with_qos=lambda data, qos: record(data, qos=qos),
            record=record,
        )


class TestRequestReply(InMemoryConfig, RequestReplyContract): ...


class TestStreams(InMemoryConfig, StreamContract): ...


class TestErrors(InMemoryConfig, ErrorContract): ...


class TestEvents(InMemoryConfig, EventContract): ...


class TestWildcards(InMemoryConfig, WildcardContract): ...


class TestQos(InMemoryConfig, QosContract): ...


class TestPackets(InMemoryConfig, PacketContract): ...


class TestSharedGroup(InMemoryConfig, SharedGroupContract): ...
