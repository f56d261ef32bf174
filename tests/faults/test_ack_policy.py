"""When a service acknowledges QoS 1/2 messages (``AckPolicy``), seen in a real Mosquitto's log
of the packets it received; and what a persistent session gives back after a SIGKILL."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from transport_support import Harness, Sniffer, eventually, logging_broker, make_module

from nestpy import Controller
from nestpy.microservices import Ctx, EventPattern, MessagePattern, RpcException
from nestpy.microservices.codec import encode_event, encode_request
from nestpy_mqtt import AckPolicy, MqttContext, MqttOptions
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
SERVICE_ID = "ack-svc"
SCRIPT = Path(__file__).with_name("ack_service.py")
ROOT = Path(__file__).parents[2]  # the subprocess imports this checkout's nestpy
_ACK = re.compile(r"Received (PUBACK|PUBREC|PUBCOMP) from (\S+) \(Mid: (\d+)")


def acks(broker: MosquittoBroker, kind: str = "PUBACK", client_id: str = SERVICE_ID) -> list[int]:
    """The packet ids of the ``kind`` packets ``client_id`` sent, in the order received."""
    found = (_ACK.search(line) for line in broker.log().splitlines())
    return [int(m[3]) for m in found if m and m[1] == kind and m[2] == client_id]


@Controller()
class AckController:
    def __init__(self) -> None:
        self.gates: dict[Any, asyncio.Event] = {}
        self.started: list[tuple[Any, int]] = []  # (data, packet id)
        self.finished: list[Any] = []
        self.contexts: list[MqttContext] = []

    def gate(self, key: Any) -> asyncio.Event:
        return self.gates.setdefault(key, asyncio.Event())

    async def _held(self, data: Any, ctx: MqttContext) -> None:
        self.started.append((data, ctx.get_packet().mid))
        await self.gate(data).wait()
        self.finished.append(data)

    @EventPattern("acks/event", qos=1)
    async def event(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        await self._held(data, ctx)

    @EventPattern("acks/event2", qos=2)
    async def event2(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        await self._held(data, ctx)

    @MessagePattern("acks/request", qos=1, timeout=2.0)
    async def request(self, data: str, ctx: Annotated[MqttContext, Ctx()]) -> str:
        await self._held(data, ctx)
        if data == "raises":
            raise RpcException("refused")
        return data

    @EventPattern("acks/receipt", qos=1, ack_policy=AckPolicy.ON_RECEIPT)
    async def receipt(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        await self._held(data, ctx)

    @EventPattern("acks/thread", qos=1, ack_policy=AckPolicy.MANUAL, run_in_thread=True)
    def threaded(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        self.started.append((threading.get_ident(), ctx.get_packet().mid))
        ctx.ack()  # from a worker thread: handed to the event loop

    @EventPattern("acks/manual", qos=1, ack_policy="manual")
    async def manual(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        self.contexts.append(ctx)
        self.started.append((data, ctx.get_packet().mid))


@pytest.fixture(scope="module")
def log_broker() -> Iterator[MosquittoBroker]:
    with logging_broker() as broker:
        yield broker


@pytest.fixture
async def harness(log_broker: MosquittoBroker, mqtt_version: int) -> AsyncIterator[Harness]:
    peers = Harness(log_broker.url, mqtt_version)
    try:
        yield peers
    finally:
        await peers.close()


@pytest.fixture
async def sniffer(log_broker: MosquittoBroker) -> AsyncIterator[Sniffer]:
    sniffing = await Sniffer(log_broker.url).start()
    try:
        yield sniffing
    finally:
        await sniffing.close()


@pytest.fixture
async def controller(harness: Harness, log_broker: MosquittoBroker) -> AckController:
    client_id = f"{SERVICE_ID}-{harness.protocol_version}"
    app = await harness.app(make_module([AckController]), client_id=client_id)
    controller = app.get(AckController)
    controller.client_id = client_id  # type: ignore[attr-defined]
    return controller


def acks_of(broker: MosquittoBroker, controller: AckController, kind: str = "PUBACK") -> list[int]:
    return acks(broker, kind, controller.client_id)  # type: ignore[attr-defined]


async def settle() -> None:
    """Time for an acknowledgement that should not exist to reach the broker's log."""
    await asyncio.sleep(0.3)


async def test_acks_wait_for_the_handlers_and_leave_in_arrival_order(
    controller: AckController, sniffer: Sniffer, log_broker: MosquittoBroker
) -> None:
    before = acks_of(log_broker, controller)
    for name in ("a", "b", "c"):
        await sniffer.publish("acks/event", encode_event("acks/event", name))
    await eventually(lambda: len(controller.started) == 3)
    mids = [mid for _, mid in controller.started]
    controller.gate("c").set()
    controller.gate("b").set()
    await eventually(lambda: len(controller.finished) == 2)
    await settle()
    assert acks_of(log_broker, controller) == before  # "a" still runs: nothing acknowledged
    controller.gate("a").set()
    await eventually(lambda: len(acks_of(log_broker, controller)) == len(before) + 3)
    assert acks_of(log_broker, controller)[len(before) :] == mids  # arrival order (MQTT 4.6)


@pytest.mark.parametrize("outcome", ["returns", "raises", "times out"])
async def test_a_request_is_acknowledged_once_answered(
    controller: AckController, sniffer: Sniffer, log_broker: MosquittoBroker, outcome: str
) -> None:
    before = acks_of(log_broker, controller)
    request = encode_request("acks/request", outcome, f"id-{outcome}")
    await sniffer.publish("acks/request", request)
    await eventually(lambda: len(controller.started) == 1)
    await settle()
    assert acks_of(log_broker, controller) == before
    if outcome != "times out":
        controller.gate(outcome).set()
    [reply] = await sniffer.wait("acks/request/reply")
    expected = {"returns": b'"response"', "raises": b"refused", "times out": b"timed out"}
    assert expected[outcome] in reply.payload
    await eventually(lambda: len(acks_of(log_broker, controller)) == len(before) + 1)


async def test_on_receipt_pattern_acknowledges_at_once(
    controller: AckController, sniffer: Sniffer, log_broker: MosquittoBroker
) -> None:
    before = acks_of(log_broker, controller)
    await sniffer.publish("acks/receipt", encode_event("acks/receipt", "r"))
    await eventually(lambda: len(controller.started) == 1)
    await eventually(lambda: len(acks_of(log_broker, controller)) == len(before) + 1)
    assert controller.finished == []  # still running
    controller.gate("r").set()


async def test_manual_policy_acknowledges_when_the_handler_says_so(
    controller: AckController,
    sniffer: Sniffer,
    log_broker: MosquittoBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    before = acks_of(log_broker, controller)
    await sniffer.publish("acks/manual", encode_event("acks/manual", "m"))
    await eventually(lambda: "without calling ctx.ack()" in caplog.text)
    await settle()
    assert acks_of(log_broker, controller) == before
    [ctx] = controller.contexts
    assert ctx.is_duplicate() is False
    ctx.ack()  # later, e.g. once the work is persisted
    ctx.ack()  # idempotent
    await eventually(lambda: len(acks_of(log_broker, controller)) == len(before) + 1)
    await settle()
    assert len(acks_of(log_broker, controller)) == len(before) + 1


async def test_manual_ack_from_a_thread(
    controller: AckController,
    sniffer: Sniffer,
    log_broker: MosquittoBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    before = acks_of(log_broker, controller)
    await sniffer.publish("acks/thread", encode_event("acks/thread", "t"))
    await eventually(lambda: len(acks_of(log_broker, controller)) == len(before) + 1)
    [(thread, _)] = controller.started
    assert thread != threading.get_ident()
    assert "without calling ctx.ack()" not in caplog.text


async def test_manual_message_no_handler_runs_for_is_acknowledged(
    controller: AckController, sniffer: Sniffer, log_broker: MosquittoBroker
) -> None:
    """Dropped before any handler ran (here: not valid UTF-8): nobody could call ctx.ack(), so
    nestpy acknowledges it rather than hold back every later acknowledgement."""
    before = acks_of(log_broker, controller)
    await sniffer.publish("acks/manual", b'{"pattern":"acks/manual","data":"\xff"}')
    await eventually(lambda: len(acks_of(log_broker, controller)) == len(before) + 1)
    assert controller.started == []


async def test_qos2_pubrec_waits_for_the_handler(
    controller: AckController, sniffer: Sniffer, log_broker: MosquittoBroker
) -> None:
    before = acks_of(log_broker, controller, "PUBREC")
    await sniffer.publish("acks/event2", encode_event("acks/event2", "q2"), qos=2)
    await eventually(lambda: len(controller.started) == 1)
    await settle()
    assert acks_of(log_broker, controller, "PUBREC") == before
    controller.gate("q2").set()
    await eventually(lambda: len(acks_of(log_broker, controller, "PUBREC")) == len(before) + 1)
    mid = controller.started[0][1]
    await eventually(lambda: mid in acks_of(log_broker, controller, "PUBCOMP"))
    assert controller.started == [("q2", mid)]  # delivered once, not again on PUBREL


def test_ack_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NESTPY_MQTT_ACK_POLICY", "on-receipt")
    assert MqttOptions().ack_policy is AckPolicy.ON_RECEIPT
    assert MqttOptions(ack_policy="MANUAL").ack_policy is AckPolicy.MANUAL


async def test_an_unknown_pattern_ack_policy_fails_listen(harness: Harness) -> None:
    @Controller()
    class Wrong:
        @EventPattern("acks/wrong", ack_policy="sometimes")
        def wrong(self, data: Any) -> None: ...

    with pytest.raises(ValueError, match=r"ack_policy='sometimes'.*AckPolicy.AFTER_HANDLER"):
        await harness.app(make_module([Wrong]))


# -- a service killed with SIGKILL while its handler runs ------------------------------------


class ServiceProcess:
    """``ack_service.py`` in a subprocess."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str, version: int, policy: str, client_id: str) -> ServiceProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            url,
            str(version),
            policy,
            client_id,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])},
        )
        service = cls(process)
        await service.wait_for("ready")
        return service

    async def wait_for(self, line: str) -> None:
        assert self.process.stdout is not None
        while line not in self.lines:
            raw = await asyncio.wait_for(self.process.stdout.readline(), 20)
            if not raw:
                raise AssertionError(f"the service exited before printing {line!r}")
            self.lines.append(raw.decode().strip())

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()  # SIGKILL: no handler, no acknowledgement, no DISCONNECT
        await self.process.wait()


@pytest.mark.parametrize(
    ("policy", "qos"),
    [("after_handler", 1), ("on_receipt", 1), ("after_handler", 2), ("on_receipt", 2)],
)
async def test_sigkill_mid_handler_redelivers_only_after_handler(
    private_broker: MosquittoBroker, mqtt_version: int, policy: str, qos: int
) -> None:
    """Persistent session: under AFTER_HANDLER the restarted service gets the message again,
    marked as a duplicate; under ON_RECEIPT it was acknowledged, so it is lost."""
    publisher = await Sniffer(private_broker.url).start()
    client_id = f"ack-kill-{policy}-{qos}-{mqtt_version}"
    topic = f"ack/work{qos}"
    service = await ServiceProcess.start(private_broker.url, mqtt_version, policy, client_id)
    try:
        await publisher.publish(topic, encode_event(topic, "slow"), qos=qos)
        await service.wait_for("got slow dup=False")
        await service.kill()
        service = await ServiceProcess.start(private_broker.url, mqtt_version, policy, client_id)
        await publisher.publish(topic, encode_event(topic, "marker"), qos=qos)
        await service.wait_for("got marker dup=False")
        again = [line for line in service.lines if line.startswith("got slow")]
        if policy == "after_handler":
            assert again == ["got slow dup=True"]
            assert service.lines.index(again[0]) < service.lines.index("got marker dup=False")
        else:
            assert again == []
    finally:
        await service.kill()
        await publisher.close()
