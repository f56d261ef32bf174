"""Real signals to a service process at every stage: while its first connection is still
retrying (broker down), while serving, during a slow shutdown, and after a ``close()`` from
elsewhere. Each test prints the time from the signal to the process's exit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import pytest
from transport_support import Harness, eventually, make_module

from nestpy import ShutdownSignal
from nestpy.common.shutdown_signal import DEFAULT_SHUTDOWN_SIGNALS, signal_numbers
from nestpy.microservices import Transport, create_microservice
from nestpy_mqtt import MqttOptions
from nestpy_mqtt.errors import MqttNotInitializedError
from nestpy_mqtt.testing import MosquittoBroker
from nestpy_mqtt.testing.broker import free_port

pytestmark = pytest.mark.mqtt
SCRIPT = Path(__file__).with_name("signal_service.py")
ROOT = Path(__file__).parents[2]
RETRYING = "waiting for the MQTT broker"


class ServiceProcess:
    """The service script in a subprocess (this checkout's code), its output collected."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        assert process.stdout is not None
        assert process.stderr is not None
        self._pumps = [
            asyncio.ensure_future(self._pump(process.stdout, self.out)),
            asyncio.ensure_future(self._pump(process.stderr, self.err)),
        ]

    @classmethod
    async def start(
        cls, url: str, *args: str, prefix: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> ServiceProcess:
        process = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            str(SCRIPT),
            url,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        return cls(process)

    @staticmethod
    async def _pump(stream: asyncio.StreamReader, lines: list[str]) -> None:
        while raw := await stream.readline():
            lines.append(raw.decode().rstrip())

    async def wait_out(self, line: str) -> None:
        await self._wait(lambda: line in self.out, f"stdout line {line!r}")

    async def wait_err(self, text: str) -> None:
        await self._wait(lambda: any(text in line for line in self.err), f"log {text!r}")

    async def _wait(self, check: Callable[[], bool], what: str) -> None:
        try:
            await eventually(check, timeout=30)
        except AssertionError:
            raise AssertionError(f"no {what}; stdout {self.out}, log {self.err}") from None

    def signal(self, number: int) -> float:
        """Send a signal; return when (``time.monotonic()``)."""
        self.process.send_signal(number)
        return time.monotonic()

    async def exit_code(self, timeout: float = 30) -> int:
        """Wait for the process to exit (killed after ``timeout``, failing the test)."""
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"still running {timeout} s later; stdout {self.out}, log {self.err}"
            ) from None
        await asyncio.gather(*self._pumps)
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for pump in self._pumps:
            pump.cancel()


@pytest.fixture
async def processes() -> AsyncIterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    try:
        yield started
    finally:
        for service in started:
            await service.kill()


@pytest.fixture
def down_url() -> str:
    """A loopback port nothing listens on: the broker is down."""
    return f"mqtt://127.0.0.1:{free_port()}"


async def start(processes: list[ServiceProcess], url: str, *args: str) -> ServiceProcess:
    service = await ServiceProcess.start(url, *args)
    processes.append(service)
    return service


class SilentBroker:
    """Accepts TCP connections and never answers: the service waits for its CONNACK."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return f"mqtt://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        await reader.read()  # hold the connection until the client drops it

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def silent_broker() -> AsyncIterator[SilentBroker]:
    broker = SilentBroker()
    try:
        yield broker
    finally:
        await broker.close()


async def test_a_signal_stops_a_service_waiting_for_a_silent_broker(
    processes: list[ServiceProcess], silent_broker: SilentBroker
) -> None:
    service = await start(processes, await silent_broker.start())
    await eventually(lambda: silent_broker.connections > 0, timeout=30)  # awaiting CONNACK

    signalled = service.signal(signal.SIGTERM)
    code = await service.exit_code()
    exited = time.monotonic() - signalled

    assert code == 0
    assert service.out[:2] == [
        "before_application_shutdown SIGTERM",
        "on_application_shutdown SIGTERM",
    ]
    print(f"\nSIGTERM while waiting for a CONNACK that never comes: exited {exited:.2f} s later")


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A port whose accept queue is full: the kernel drops further SYNs, so a TCP connect
    blocks (as behind a firewall that drops packets)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(address)
        fillers.append(filler)
    try:
        yield f"mqtt://127.0.0.1:{address[1]}"
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def test_a_signal_during_a_blocked_tcp_connect_still_stops_the_service(
    processes: list[ServiceProcess], unanswered_url: str
) -> None:
    # The TCP connect runs in a thread that cannot be interrupted: it ends first.
    service = await ServiceProcess.start(unanswered_url, env={"NESTPY_MQTT_HANDSHAKE_TIMEOUT": "3"})
    processes.append(service)
    await service.wait_err("dependencies initialized")
    await asyncio.sleep(0.5)  # the connect is under way (or over: then the exit is sooner)
    signalled = service.signal(signal.SIGTERM)
    code = await service.exit_code()
    exited = time.monotonic() - signalled
    assert code == 0
    assert "on_application_shutdown SIGTERM" in service.out
    print(f"\nSIGTERM during a TCP connect that gets no answer: exited {exited:.2f} s later")


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT", "SIGHUP"])
async def test_a_shutdown_signal_stops_a_service_whose_broker_is_down(
    processes: list[ServiceProcess], down_url: str, name: str
) -> None:
    service = await start(processes, down_url)
    await service.wait_err(RETRYING)  # run() is retrying its first connection

    signalled = service.signal(getattr(signal, name))
    code = await service.exit_code()
    exited = time.monotonic() - signalled

    assert code == 0
    assert service.out == [
        f"before_application_shutdown {name}",
        f"on_application_shutdown {name}",
        "returned",
        "exit",
    ]
    assert any(f"Received {name}, shutting down" in line for line in service.err)
    print(f"\n{name} while the first connection retries: exited {exited:.2f} s later")


async def test_close_while_connecting_returns_run_and_removes_its_signal_handlers(
    processes: list[ServiceProcess], down_url: str
) -> None:
    service = await start(processes, down_url, "--close-on", "SIGUSR1", "--linger", "60")
    await service.wait_err(RETRYING)

    asked = service.signal(signal.SIGUSR1)  # the script's own handler calls app.close()
    await service.wait_out("returned")
    returned = time.monotonic() - asked
    assert service.out == [
        "before_application_shutdown None",
        "on_application_shutdown None",
        "returned",
    ]

    service.signal(signal.SIGTERM)  # no handler left: SIGTERM's default action
    assert await service.exit_code() == -signal.SIGTERM
    assert "exit" not in service.out
    print(f"\nclose() while the first connection retries: run() returned {returned:.2f} s later")


async def test_close_from_a_handler_returns_run_and_removes_its_signal_handlers(
    processes: list[ServiceProcess], private_broker: MosquittoBroker
) -> None:
    service = await start(processes, private_broker.url, "--listen-first", "--linger", "60")
    await service.wait_out("ready")
    harness = Harness(private_broker.url)
    try:
        asked = time.monotonic()
        assert await harness.client().send("signals/close", {}, timeout=10) == "closing"
        await service.wait_out("returned")
        returned = time.monotonic() - asked
    finally:
        await harness.close()
    assert "on_application_shutdown None" in service.out

    service.signal(signal.SIGHUP)
    assert await service.exit_code() == -signal.SIGHUP
    assert "exit" not in service.out
    print(f"\nclose() from a handler: run() returned {returned:.2f} s after the request")


async def test_a_second_signal_during_a_slow_shutdown_is_logged_and_the_shutdown_goes_on(
    processes: list[ServiceProcess], private_broker: MosquittoBroker
) -> None:
    service = await start(processes, private_broker.url, "--listen-first", "--slow-hook", "2")
    await service.wait_out("ready")

    signalled = service.signal(signal.SIGTERM)
    await service.wait_out("before_application_shutdown SIGTERM")  # the 2 s hook runs
    service.signal(signal.SIGINT)
    service.signal(signal.SIGTERM)
    code = await service.exit_code()
    exited = time.monotonic() - signalled

    assert code == 0
    assert service.out[-3:] == ["on_application_shutdown SIGTERM", "returned", "exit"]
    log = "\n".join(service.err)
    assert "Received SIGINT while shutting down (after SIGTERM)" in log
    assert "Received SIGTERM while shutting down (after SIGTERM)" in log
    print(f"\nSIGTERM, then SIGINT and SIGTERM during a 2 s hook: exited {exited:.2f} s later")


async def test_a_signal_during_a_close_from_elsewhere_is_logged(
    processes: list[ServiceProcess], private_broker: MosquittoBroker
) -> None:
    service = await start(
        processes, private_broker.url, "--listen-first", "--slow-hook", "2", "--close-on", "SIGUSR1"
    )
    await service.wait_out("ready")
    service.signal(signal.SIGUSR1)
    await service.wait_out("before_application_shutdown None")
    service.signal(signal.SIGTERM)
    assert await service.exit_code() == 0
    assert service.out[-3:] == ["on_application_shutdown None", "returned", "exit"]
    assert any("Received SIGTERM while shutting down (after close())" in x for x in service.err)


async def test_shutdown_signals_chooses_the_signals(
    processes: list[ServiceProcess], down_url: str
) -> None:
    chosen = await start(processes, down_url, "--signals", "SIGUSR2")
    default_gone = await start(processes, down_url, "--signals", "sigterm")
    nest = await start(processes, down_url, "--signals", "nest")
    for service in (chosen, default_gone, nest):
        await service.wait_err(RETRYING)

    chosen.signal(signal.SIGUSR2)
    default_gone.signal(signal.SIGHUP)  # no longer handled: its default action
    nest.signal(signal.SIGQUIT)  # in Nest's full set

    assert await chosen.exit_code() == 0
    assert chosen.out[:2] == [
        "before_application_shutdown SIGUSR2",
        "on_application_shutdown SIGUSR2",
    ]
    assert await default_gone.exit_code() == -signal.SIGHUP
    assert default_gone.out == []
    assert await nest.exit_code() == 0
    assert "on_application_shutdown SIGQUIT" in nest.out


@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup")
async def test_a_default_signal_the_process_ignores_stays_ignored(
    processes: list[ServiceProcess], down_url: str
) -> None:
    service = await ServiceProcess.start(down_url, prefix=["nohup"])
    processes.append(service)
    await service.wait_err(RETRYING)
    service.signal(signal.SIGHUP)  # nohup: ignored, not a shutdown
    service.signal(signal.SIGTERM)
    assert await service.exit_code() == 0
    assert service.out[:2] == [
        "before_application_shutdown SIGTERM",
        "on_application_shutdown SIGTERM",
    ]


def test_signal_names_are_checked() -> None:
    assert list(signal_numbers(["sigterm", signal.SIGINT, " SIGTERM "])) == ["SIGTERM", "SIGINT"]
    assert list(signal_numbers("SIGHUP")) == ["SIGHUP"]
    assert [s.value for s in ShutdownSignal][0::10] == ["SIGHUP", "SIGTERM"]  # Nest's order
    assert len(ShutdownSignal) == 11
    assert DEFAULT_SHUTDOWN_SIGNALS == ("SIGTERM", "SIGINT", "SIGHUP")
    with pytest.raises(ValueError, match="Unknown shutdown signal 'TERM'"):
        signal_numbers(["TERM"])
    with pytest.raises(ValueError, match="SIGKILL cannot be handled"):
        signal_numbers(["SIGKILL"])


async def test_create_microservice_rejects_an_unknown_signal() -> None:
    with pytest.raises(ValueError, match="Unknown shutdown signal 'SIGTREM'"):
        await create_microservice(
            type("M", (), {}),
            transport=Transport.MQTT,
            options=MqttOptions(url="mqtt://127.0.0.1:1"),
            shutdown_signals=["SIGTREM"],
        )


async def test_run_after_close_returns_at_once_without_connecting(down_url: str) -> None:
    app = await create_microservice(
        make_module([]), transport=Transport.MQTT, options=MqttOptions(url=down_url)
    )
    await app.close()
    await asyncio.wait_for(app.run(), 10)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(MqttNotInitializedError):
        app.unwrap()  # never connected
