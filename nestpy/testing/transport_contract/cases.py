"""The contract's test cases: subclass them with a ``contract_setup`` fixture."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from nestpy.microservices.clients_module import ClientProxyFactory
from nestpy.microservices.exceptions import (
    ConnectionLostError,
    RequestTimeoutError,
    RpcException,
)
from nestpy.testing.transport_contract._app import (
    AuditController,
    ContractController,
    ContractSetup,
    Peers,
    eventually,
    start_service,
)


class ContractBase:
    """Fixtures shared by the contract cases; subclasses provide ``contract_setup``."""

    @pytest.fixture
    def contract_setup(self) -> ContractSetup:
        """Override in the transport's test module."""
        msg = "define a contract_setup fixture that returns a ContractSetup"
        raise NotImplementedError(msg)

    @pytest.fixture
    async def peers(self, contract_setup: ContractSetup) -> AsyncIterator[Peers]:
        """The contract service and a client, closed after the test."""
        app = await start_service(contract_setup)
        client = ClientProxyFactory.create(
            transport=contract_setup.transport, options=contract_setup.client_options()
        )
        try:
            yield Peers(app, client, contract_setup)
        finally:
            await client.close()
            await app.close()


class RequestReplyContract(ContractBase):
    """``send`` gets the handler's value back, whatever the handler's shape."""

    async def test_sync_handler(self, peers: Peers) -> None:
        """A ``def`` handler's return value is the reply."""
        assert await peers.client.send("contract/sum", [1, 2, 3], timeout=peers.setup.timeout) == 6

    async def test_async_handler_and_json_values(self, peers: Peers) -> None:
        """An ``async def`` handler's value comes back as the same JSON value."""
        value = {"text": "é ✓", "n": 1.5, "list": [None, True], "nested": {"a": []}}
        assert await peers.client.send("contract/echo", value, timeout=peers.setup.timeout) == value

    async def test_none_is_a_value(self, peers: Peers) -> None:
        """``None`` is a value (``"response":null``), not a missing one."""
        assert await peers.client.send("contract/none", 1, timeout=peers.setup.timeout) is None

    async def test_many_requests_in_flight(self, peers: Peers) -> None:
        """Concurrent requests each get their own reply; none stays pending."""
        sends = [
            peers.client.send("contract/echo", i, timeout=peers.setup.timeout) for i in range(50)
        ]
        assert await asyncio.gather(*sends) == list(range(50))
        assert peers.client.pending_requests == 0

    async def test_object_pattern_any_key_order(self, peers: Peers) -> None:
        """Object patterns match whatever the caller's key order."""
        timeout = peers.setup.timeout
        assert await peers.client.send({"cmd": "sum", "a": 1}, [4, 5], timeout=timeout) == 9
        assert await peers.client.send({"a": 1, "cmd": "sum"}, [1, 1], timeout=timeout) == 2

    async def test_pattern_list_registers_each(self, peers: Peers) -> None:
        """A list of patterns registers the handler under each one."""
        timeout = peers.setup.timeout
        assert await peers.client.send("contract/alias/one", 0, timeout=timeout) == (
            "contract/alias/one"
        )
        assert await peers.client.send("contract/alias/two", 0, timeout=timeout) == (
            "contract/alias/two"
        )

    async def test_unknown_pattern_gets_no_reply_only_the_timeout(self, peers: Peers) -> None:
        """Nobody answers an unknown pattern: the request's timeout ends it."""
        with pytest.raises(RequestTimeoutError, match="contract/nobody"):
            await peers.client.send("contract/nobody", 1, timeout=peers.setup.no_reply_timeout)
        assert peers.client.pending_requests == 0

    async def test_request_to_an_event_handler_completes_without_value(self, peers: Peers) -> None:
        """A request that reaches an event handler runs it and completes with no value."""
        timeout = peers.setup.timeout
        assert await peers.client.send("contract/user_created", {"id": 2}, timeout=timeout) is None
        assert peers.controller.events == [({"id": 2}, "contract/user_created")]

    async def test_close_fails_pending_requests_and_send_connects_again(self, peers: Peers) -> None:
        """``close()`` fails the requests still waiting; a later ``send`` works again."""
        timeout = peers.setup.timeout
        waiting = asyncio.ensure_future(peers.client.send("contract/hold", 1, timeout=timeout))
        await eventually(lambda: peers.controller.handled == 1)  # the service has it
        await peers.client.close()
        with pytest.raises(ConnectionLostError):
            await waiting
        assert peers.client.pending_requests == 0
        peers.controller.release.set()
        assert await peers.client.send("contract/sum", [1, 1], timeout=timeout) == 2


class StreamContract(ContractBase):
    """Generators stream: every value with ``async for``, the last one with ``await``."""

    async def test_async_generator(self, peers: Peers) -> None:
        """An async generator streams its values; ``await`` gives the last one."""
        stream = peers.client.send("contract/count", 3, timeout=peers.setup.timeout)
        assert [v async for v in stream] == [0, 1, 2]
        assert await peers.client.send("contract/count", 3, timeout=peers.setup.timeout) == 2

    async def test_sync_generator(self, peers: Peers) -> None:
        """A plain generator streams too."""
        stream = peers.client.send("contract/count_sync", 4, timeout=peers.setup.timeout)
        assert [v async for v in stream] == [0, 1, 2, 3]

    async def test_empty_stream_completes_without_value(self, peers: Peers) -> None:
        """An empty stream completes with no value (``None`` when awaited)."""
        timeout = peers.setup.timeout
        assert [v async for v in peers.client.send("contract/count", 0, timeout=timeout)] == []
        assert await peers.client.send("contract/count_sync", 0, timeout=timeout) is None

    async def test_stream_that_fails_after_a_value(self, peers: Peers) -> None:
        """Values sent before an error arrive, then the error is raised."""
        seen: list[int] = []

        async def consume() -> None:
            async for value in peers.client.send("contract/count_fail", 5, timeout=5):
                seen.append(value)

        with pytest.raises(RpcException) as info:
            await consume()
        assert seen == [5]
        assert info.value.error == {"status": "error", "message": "mid-stream"}
        assert peers.client.pending_requests == 0


class ErrorContract(ContractBase):
    """Handler errors reach the caller as ``RpcException`` with Nest's ``err`` payloads."""

    async def _error(self, peers: Peers, pattern: str, data: Any) -> Any:
        with pytest.raises(RpcException) as info:
            await peers.client.send(pattern, data, timeout=peers.setup.timeout)
        return info.value.error

    async def test_rpc_exception_with_a_string(self, peers: Peers) -> None:
        """``RpcException(str)`` arrives as ``{"status": "error", "message": str}``."""
        error = await self._error(peers, "contract/fail_str", 1)
        assert error == {"status": "error", "message": "bad"}

    async def test_rpc_exception_with_a_dict(self, peers: Peers) -> None:
        """``RpcException(dict)`` arrives as the dict, unchanged."""
        assert await self._error(peers, "contract/fail_obj", 1) == {"code": 7}

    async def test_any_other_exception_is_internal_and_logged(
        self, peers: Peers, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Any other exception is an internal error for the caller and is logged."""
        with caplog.at_level(logging.ERROR, logger="RpcExceptionsHandler"):
            error = await self._error(peers, "contract/crash", 1)
        assert error == {"status": "error", "message": "Internal server error"}
        assert any("boom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)

    async def test_validation_error_carries_the_details(self, peers: Peers) -> None:
        """Payloads are validated against the handler's annotation; errors are detailed."""
        timeout = peers.setup.timeout
        assert await peers.client.send("contract/reading", {"value": "2.5"}, timeout=timeout) == 5
        error = await self._error(peers, "contract/reading", {"value": "warm"})
        assert error["status"] == "error"
        assert error["message"] == "Payload validation failed"
        assert [(e["loc"], e["type"]) for e in error["errors"]] == [(["value"], "float_parsing")]

    async def test_service_keeps_serving_after_errors(self, peers: Peers) -> None:
        """Failing handlers do not stop the service."""
        await self._error(peers, "contract/crash", 1)
        await self._error(peers, "contract/reading", [])
        assert await peers.client.send("contract/sum", [2], timeout=peers.setup.timeout) == 2


class EventContract(ContractBase):
    """``emit`` reaches every event handler of the pattern, and gets no reply."""

    async def test_emit_runs_every_handler(self, peers: Peers) -> None:
        """``emit`` runs every event handler of the pattern, in every controller."""
        await peers.client.emit("contract/user_created", {"id": 1})
        audit: AuditController = peers.app.get(AuditController)
        await eventually(lambda: bool(peers.controller.events and audit.events))
        assert peers.controller.events == [({"id": 1}, "contract/user_created")]
        assert audit.events == [{"id": 1}]

    async def test_events_keep_their_order(self, peers: Peers) -> None:
        """Events from one client reach a ``def`` handler in order."""
        for i in range(20):
            peers.client.emit("contract/user_created", {"id": i})
        audit: AuditController = peers.app.get(AuditController)
        await eventually(lambda: len(audit.events) == 20)
        assert audit.events == [{"id": i} for i in range(20)]

    async def test_emit_to_nobody_is_not_an_error(self, peers: Peers) -> None:
        """Emitting to a pattern nobody listens to succeeds."""
        await peers.client.emit("contract/nobody_listens", {"id": 1})


class WildcardContract(ContractBase):
    """``+`` and ``#`` handler keys; the handler sees the concrete topic."""

    async def test_single_level_wildcards(self, peers: Peers) -> None:
        """``+`` matches one level; the handler sees the concrete topic."""
        topic = "contract/sensors/7/temperature/c"
        reply = await peers.client.send(topic, 21.5, timeout=peers.setup.timeout)
        assert reply == {"topic": topic, "data": 21.5}

    async def test_multi_level_wildcard_includes_the_parent(self, peers: Peers) -> None:
        """``a/#`` matches ``a`` itself and anything below."""
        timeout = peers.setup.timeout
        assert await peers.client.send("contract/logs/a/b", 1, timeout=timeout) == (
            "contract/logs/a/b"
        )
        assert await peers.client.send("contract/logs", 1, timeout=timeout) == "contract/logs"

    async def test_a_plus_does_not_span_levels(self, peers: Peers) -> None:
        """``+`` never matches two levels."""
        with pytest.raises(RequestTimeoutError):
            await peers.client.send(
                "contract/sensors/7/x/temperature/c", 1, timeout=peers.setup.no_reply_timeout
            )


class QosContract(ContractBase):
    """A handler's ``qos=`` is its subscription QoS (transports with QoS only)."""

    async def test_per_pattern_qos(self, peers: Peers) -> None:
        """A QoS-2 message arrives with the handler's subscription QoS."""
        with_qos = peers.setup.with_qos
        if with_qos is None or peers.setup.packet_qos is None:
            pytest.skip("this transport has no QoS")
        timeout = peers.setup.timeout
        assert await peers.client.send("contract/qos/one", with_qos(1, 2), timeout=timeout) == 1
        assert await peers.client.send("contract/qos/default", with_qos(1, 2), timeout=timeout) == 0


class SharedGroupContract(ContractBase):
    """Two services in one shared group split the requests; each is answered once."""

    async def test_two_services_share_the_work(self, contract_setup: ContractSetup) -> None:
        """Both services answer some requests; each request is answered once."""
        services = [await start_service(contract_setup, shared_group="contract") for _ in "ab"]
        client = ClientProxyFactory.create(
            transport=contract_setup.transport, options=contract_setup.client_options()
        )
        try:
            sends = [
                client.send("contract/work", i, timeout=contract_setup.timeout) for i in range(40)
            ]
            assert await asyncio.gather(*sends) == list(range(40))
            counts = [service.get(ContractController).handled for service in services]
            assert sum(counts) == 40
            assert all(counts), counts
        finally:
            await client.close()
            for service in services:
                await service.close()


class PacketContract(ContractBase):
    """Records, the packet a handler sees, QoS and user properties (transports with records)."""

    def _record(self, peers: Peers) -> Any:
        if peers.setup.record is None:
            pytest.skip("this transport has no records")
        return peers.setup.record

    async def test_a_record_reaches_the_handler_as_its_data(self, peers: Peers) -> None:
        """A record is unpacked: the handler gets its data, not the record."""
        record = self._record(peers)
        data = {"order_id": "o-1"}
        sent = record(data, qos=1)
        assert await peers.client.send("contract/echo", sent, timeout=peers.setup.timeout) == data

    async def test_an_event_record_reaches_the_handler_as_its_data(self, peers: Peers) -> None:
        """An emitted record is unpacked too, and delivered with its QoS."""
        record = self._record(peers)
        await peers.client.emit("contract/record_event", record({"id": 3}, qos=1))
        await eventually(lambda: bool(peers.controller.events))
        assert peers.controller.events == [({"id": 3}, 1)]

    async def test_the_handler_sees_the_packet(self, peers: Peers) -> None:
        """``ctx.get_packet()``: QoS (the lower of publish and subscription), flags, and the
        user properties (MQTT 5), also as ``ctx.user_properties``."""
        record = self._record(peers)
        sent = record([1], qos=1, user_properties={"x-tenant": "t1"})
        reply = await peers.client.send("contract/packet", sent, timeout=peers.setup.timeout)
        users = {"x-tenant": "t1"} if peers.setup.user_properties else {}
        assert reply == {
            "data": [1],
            "topic": "contract/packet",
            "qos": 1,
            "retain": False,
            "dup": False,
            "user_properties": users,
            "context_user_properties": users,
        }

    async def test_a_plain_payload_arrives_at_qos_0_without_properties(self, peers: Peers) -> None:
        """Data that is not a record is published at QoS 0, with no user properties."""
        reply = await peers.client.send("contract/packet", 5, timeout=peers.setup.timeout)
        assert (reply["data"], reply["qos"], reply["user_properties"]) == (5, 0, {})

    async def test_client_user_properties_merge_under_the_records(
        self, contract_setup: ContractSetup
    ) -> None:
        """A client's ``user_properties`` go with every message; a record's win on a clash."""
        record = contract_setup.record
        if record is None:
            pytest.skip("this transport has no records")
        app = await start_service(contract_setup)
        client = ClientProxyFactory.create(
            transport=contract_setup.transport,
            options=contract_setup.client_options(user_properties={"app": "a", "v": "1"}),
        )
        try:
            sent = record(0, user_properties={"v": "2"})
            reply = await client.send("contract/packet", sent, timeout=contract_setup.timeout)
        finally:
            await client.close()
            await app.close()
        expected = {"app": "a", "v": "2"} if contract_setup.user_properties else {}
        assert reply["user_properties"] == expected
