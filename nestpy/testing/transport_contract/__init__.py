"""One contract every transport must pass, written once and run on each transport.

The classes below are pytest test cases that know nothing about brokers: they start a
microservice and a client through ``create_microservice`` and ``ClientProxyFactory.create``
with the options a ``ContractSetup`` builds. A transport's test module provides that setup
in a ``contract_setup`` fixture and subclasses the cases (as faststream's
``tests/brokers/base`` does)::

    class InMemoryConfig:
        @pytest.fixture
        def contract_setup(self) -> ContractSetup:
            broker = InMemoryBroker()
            return ContractSetup(
                transport=Transport.IN_MEMORY,
                server_options=lambda **kw: InMemoryOptions(broker=broker, **kw),
                client_options=lambda **kw: InMemoryOptions(broker=broker, **kw),
            )

    class TestRequests(InMemoryConfig, RequestReplyContract): ...

Every handler lives under ``contract/`` (plus one object pattern), so a shared broker is fine
as long as one contract test runs at a time.
"""

from nestpy.testing.transport_contract._app import (
    AuditController,
    ContractController,
    ContractSetup,
    Peers,
    start_service,
)
from nestpy.testing.transport_contract.cases import (
    ContractBase,
    ErrorContract,
    EventContract,
    PacketContract,
    QosContract,
    RequestReplyContract,
    SharedGroupContract,
    StreamContract,
    WildcardContract,
)

__all__ = [
    "AuditController",
    "ContractBase",
    "ContractController",
    "ContractSetup",
    "ErrorContract",
    "EventContract",
    "PacketContract",
    "Peers",
    "QosContract",
    "RequestReplyContract",
    "SharedGroupContract",
    "StreamContract",
    "WildcardContract",
    "start_service",
]
