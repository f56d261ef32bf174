"""SIGTERM to a service process with handlers in flight: it stops taking messages (its shared
group partner takes them), lets in-flight handlers finish and reply, then disconnects."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from transport_support import Harness, make_module

from nestpy import Controller
from nestpy.microservices import MessagePattern, RpcException
from nestpy.microservices.server import SHUTDOWN_MESSAGE
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
SCRIPT = Path(__file__).with_name("shutdown_service.py")
GROUP = "shutdown"


@Controller()
class PartnerController:
    @MessagePattern("shutdown/slow")
    async def slow(self, seconds: float) -> str:
        return "partner"

    @MessagePattern("shutdown/fast")
    def fast(self, n: int) -> str:
        return "partner"


class ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str, drain_timeout: float) -> ServiceProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            url,
            GROUP,
            str(drain_timeout),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},  # this checkout
        )
        service = cls(process)
        await service.wait_for("ready")
        return service

    async def wait_for(self, line: str, count: int = 1) -> None:
        assert self.process.stdout is not None
        while self.lines.count(line) < count:
            raw = await asyncio.wait_for(self.process.stdout.readline(), 20)
            if not raw:
                raise AssertionError(f"the service exited before printing {line!r}")
            self.lines.append(raw.decode().strip())

    async def finish(self) -> tuple[int, str]:
        out, err = await asyncio.wait_for(self.process.communicate(), 20)
        self.lines += out.decode().split()
        return self.process.returncode or 0, err.decode()


@pytest.fixture
async def harness(private_broker: MosquittoBroker) -> AsyncIterator[Harness]:
    peers = Harness(private_broker.url)
    try:
        yield peers
    finally:
        await peers.close()


async def test_sigterm_drains_in_flight_handlers_and_hands_over_new_messages(
    harness: Harness,
) -> None:
    service = await ServiceProcess.start(harness.url, drain_timeout=10)
    client = harness.client()
    slow = [asyncio.ensure_future(client.send("shutdown/slow", 1.0, timeout=10)) for _ in range(4)]
    await service.wait_for("started", 4)
    await harness.app(make_module([PartnerController]), shared_group=GROUP)

    signalled = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    fast = [client.send("shutdown/fast", i, timeout=5) for i in range(40)]
    fast_replies = await asyncio.gather(*fast)
    fast_done = time.monotonic() - signalled
    slow_replies = []
    for request in slow:
        slow_replies.append(await request)
    slow_done = time.monotonic() - signalled
    code, log = await service.finish()
    exited = time.monotonic() - signalled

    assert slow_replies == ["subprocess"] * 4  # in flight: finished and replied
    assert set(fast_replies) <= {"subprocess", "partner"}  # every new request answered once
    assert service.lines.count("finished") == 4
    assert service.lines[-1] == "closed"
    assert code == 0
    assert "Received SIGTERM, shutting down" in log
    assert "abandoned" not in log
    print(
        f"\nSIGTERM with 4 in-flight 1 s handlers: 40 new requests answered in {fast_done:.2f} s "
        f"({fast_replies.count('partner')} by the partner); in-flight replies after "
        f"{slow_done:.2f} s; process exited after {exited:.2f} s"
    )


async def test_drain_timeout_answers_the_abandoned_requests(harness: Harness) -> None:
    service = await ServiceProcess.start(harness.url, drain_timeout=0.5)
    client = harness.client()
    stuck = asyncio.ensure_future(client.send("shutdown/slow", 30, timeout=10))
    await service.wait_for("started")
    signalled = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    code, log = await service.finish()
    exited = time.monotonic() - signalled
    assert code == 0
    assert "Shutdown: 1 message(s) still being handled were abandoned" in log
    with pytest.raises(RpcException) as info:
        await stuck  # told at once, not left to its own 10 s timeout
    assert info.value.error == {"status": "error", "message": SHUTDOWN_MESSAGE}
    print(f"\ndrain_timeout=0.5 with a 30 s handler: exited {exited:.2f} s after SIGTERM")
