"""The transport contract on the in-memory transport (no broker)."""

from __future__ import annotations

import pytest

from nestpy.microservices import Transport
from nestpy.testing.in_memory import InMemoryBroker, InMemoryOptions
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


class InMemoryConfig:
    @pytest.fixture
    def contract_setup(self) -> ContractSetup:
        broker = InMemoryBroker()
        return ContractSetup(
            transport=Transport.IN_MEMORY,
            server_options=lambda **kw: InMemoryOptions(broker=broker, **kw),
            client_options=lambda **kw: InMemoryOptions(broker=broker, **kw),
        )


class TestRequestReply(InMemoryConfig, RequestReplyContract): ...


class TestStreams(InMemoryConfig, StreamContract): ...


class TestErrors(InMemoryConfig, ErrorContract): ...


class TestEvents(InMemoryConfig, EventContract): ...


class TestWildcards(InMemoryConfig, WildcardContract): ...


class TestQos(InMemoryConfig, QosContract): ...


class TestSharedGroup(InMemoryConfig, SharedGroupContract): ...
