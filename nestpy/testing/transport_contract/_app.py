"""The service the transport contract runs: its options, controllers and start-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel

from nestpy.common.decorators import Controller, Inject, Module
from nestpy.common.providers import Provider
from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.decorators import EventPattern, MessagePattern
from nestpy.microservices.exceptions import RpcException
from nestpy.microservices.microservice import NestMicroservice, create_microservice
from nestpy.microservices.transports import Transport

CONTRACT_SETUP = "NESTPY_TRANSPORT_CONTRACT_SETUP"
OBJECT_PATTERN = {"cmd": "sum", "a": 1}


@dataclass
class ContractSetup:
    """How to build a transport's server and client options for the contract.

    ``server_options(**overrides)`` and ``client_options(**overrides)`` return fresh options
    each call (overrides: ``shared_group=`` for servers). ``packet_qos(ctx)`` reads the QoS a
    message was delivered with and ``with_qos(data, qos)`` wraps data to publish with a QoS;
    leave them None on a transport without QoS and ``QosContract`` skips.
    ``record(data, qos=None, user_properties=None)`` builds the transport's record (e.g.
    ``MqttRecordBuilder``); leave it None and ``PacketContract`` skips. ``user_properties`` is
    False where the protocol carries none (MQTT 3.1.1): handlers then see an empty dict.
    """

    transport: Transport
    server_options: Callable[..., Any]
    client_options: Callable[..., Any]
    packet_qos: Callable[[Any], int] | None = None
    with_qos: Callable[[Any, int], Any] | None = None
    record: Callable[..., Any] | None = None
    user_properties: bool = True
    timeout: float = 5.0
    """Seconds a contract request may take (replies normally come in milliseconds)."""
    no_reply_timeout: float = 0.3
    """How long a request that gets no reply waits before its timeout is checked."""


class Reading(BaseModel):
    """A validated payload."""

    value: float


@Controller()
class ContractController:
    """Every handler shape the contract exercises."""

    def __init__(self, setup: Annotated[ContractSetup, Inject(CONTRACT_SETUP)]) -> None:
        self.setup = setup
        self.events: list[Any] = []
        self.handled = 0
        self.release = asyncio.Event()

    @MessagePattern("contract/sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("contract/echo")
    async def echo(self, data: Any) -> Any:
        await asyncio.sleep(0)
        return data

    @MessagePattern("contract/none")
    def none(self, data: Any) -> None:
        return None

    @MessagePattern(OBJECT_PATTERN)
    def object_sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern(["contract/alias/one", "contract/alias/two"])
    def alias(self, data: Any, ctx: BaseRpcContext) -> Any:
        return ctx.get_arg_by_index(0)

    @MessagePattern("contract/count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @MessagePattern("contract/count_sync")
    def count_sync(self, n: int) -> Iterator[int]:
        yield from range(n)

    @MessagePattern("contract/count_fail")
    async def count_fail(self, n: int) -> AsyncIterator[int]:
        yield n
        msg = "mid-stream"
        raise RpcException(msg)

    @MessagePattern("contract/fail_str")
    def fail_str(self, data: Any) -> None:
        msg = "bad"
        raise RpcException(msg)

    @MessagePattern("contract/fail_obj")
    async def fail_obj(self, data: Any) -> None:
        raise RpcException({"code": 7})

    @MessagePattern("contract/crash")
    def crash(self, data: Any) -> None:
        msg = "boom"
        raise ValueError(msg)

    @MessagePattern("contract/reading")
    def reading(self, data: Reading) -> float:
        return data.value * 2

    @MessagePattern("contract/sensors/+/temperature/+")
    def temperature(self, data: Any, ctx: BaseRpcContext) -> dict[str, Any]:
        return {"topic": ctx.get_arg_by_index(0), "data": data}

    @MessagePattern("contract/logs/#")
    async def logs(self, data: Any, ctx: BaseRpcContext) -> Any:
        return ctx.get_arg_by_index(0)

    @MessagePattern("contract/qos/one", qos=1)
    def qos_one(self, data: Any, ctx: BaseRpcContext) -> int | None:
        return self.setup.packet_qos(ctx) if self.setup.packet_qos else None

    @MessagePattern("contract/qos/default")
    def qos_default(self, data: Any, ctx: BaseRpcContext) -> int | None:
        return self.setup.packet_qos(ctx) if self.setup.packet_qos else None

    @MessagePattern("contract/packet", qos=2)
    def packet(self, data: Any, ctx: BaseRpcContext) -> dict[str, Any]:
        context: Any = ctx  # MqttContext or InMemoryContext: the same methods
        packet = context.get_packet()
        return {
            "data": data,
            "topic": context.get_topic(),
            "qos": packet.qos,
            "retain": packet.retain,
            "dup": packet.dup,
            "user_properties": packet.properties.user_properties,
            "context_user_properties": context.user_properties,
        }

    @EventPattern("contract/record_event", qos=1)
    def record_event(self, data: Any, ctx: BaseRpcContext) -> None:
        context: Any = ctx
        self.events.append((data, context.get_packet().qos))

    @MessagePattern("contract/hold")
    async def hold(self, data: Any) -> Any:
        self.handled += 1
        await self.release.wait()
        return data

    @MessagePattern("contract/work")
    async def work(self, data: int) -> int:
        self.handled += 1
        await asyncio.sleep(0)
        return data

    @EventPattern("contract/user_created")
    async def user_created(self, data: dict[str, Any], ctx: BaseRpcContext) -> None:
        self.events.append((data, ctx.get_arg_by_index(0)))


@Controller()
class AuditController:
    """A second controller listening to the same event (both must run)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    @EventPattern("contract/user_created")
    def user_created(self, data: dict[str, Any]) -> None:
        self.events.append(data)


@dataclass
class Peers:
    """A running contract service and a client of it."""

    app: NestMicroservice
    client: ClientProxy
    setup: ContractSetup

    @property
    def controller(self) -> ContractController:
        """The service's contract controller."""
        controller: ContractController = self.app.get(ContractController)
        return controller


def _contract_module(setup: ContractSetup) -> type:
    root = type("ContractModule", (), {"__module__": __name__})
    module: type = Module(
        controllers=[ContractController, AuditController],
        providers=[Provider(CONTRACT_SETUP, use_value=setup)],
    )(root)
    return module


async def start_service(setup: ContractSetup, **overrides: Any) -> NestMicroservice:
    """Start the contract service on ``setup``'s transport."""
    app = await create_microservice(
        _contract_module(setup),
        transport=setup.transport,
        options=setup.server_options(**overrides),
    )
    await app.listen()
    return app


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            msg = "condition not met in time"
            raise AssertionError(msg)
        await asyncio.sleep(0.005)
