"""Drive the NestJS peer in ``tests/interop/nest_app`` from Python tests.

* :func:`ensure_node_modules` installs the pinned npm packages (``npm ci``) on first use, and
  skips the calling test when ``node``/``npm`` are missing (the only reason to skip).
* :class:`NestService` runs ``service.js``, a stock NestJS MQTT microservice (its handlers are
  listed in :data:`SERVICE_PATTERNS`), against a broker URL.
* :class:`NestClient` runs ``client.js``, a stock NestJS ``ClientMqtt`` driven by one JSON
  command per line; :meth:`NestClient.request` sends one and returns the JSON result.

Both are synchronous (a subprocess plus reader threads). From an ``async`` test that also runs a
nestpy service or client on its event loop, use the ``a*`` variants (``await client.asend(...)``),
which run the blocking call in a worker thread so the loop keeps serving MQTT meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pytest

if TYPE_CHECKING:
    from interop_broker import PrivateMosquitto
    from wire_sniffer import WireSniffer

NEST_APP_DIR = Path(__file__).resolve().parent / "nest_app"

#: Patterns served by ``service.js`` (message handlers unless marked as events).
SERVICE_PATTERNS: dict[str, str] = {
    "sum": "returns the sum of the array",
    '{"a":1,"cmd":"sum"}': "object pattern {cmd:'sum', a:1}: returns the sum of the array",
    '{"a":1,"A":2,"b":"x","B":"y"}': "object pattern {b:'x', B:'y', a:1, A:2}: returns data",
    "slow": "waits `data` ms, then returns `data`",
    "count_up": "interval(5).pipe(take(n)): 0..n-1",
    "count_up_sync": "from([0..n-1])",
    "count_up_late": "0..n-1, then completes 30 ms after the last value",
    "fail_stream": "emits 1, then errors with RpcException('mid-stream')",
    "empty": "EMPTY",
    "none": "returns undefined",
    "null_value": "returns null",
    "async_value": "resolves {echoed: data} after 5 ms",
    "fail_rpc": "throws RpcException('bad')",
    "fail_obj": "throws RpcException({code: 7})",
    "crash": "throws Error('x')",
    "sensors/+/temperature/+": "returns {topic: ctx.getTopic(), data} (@Payload()/@Ctx())",
    "sensors/+": "returns {topic: ctx.getTopic(), data}",
    "echo_props": "returns ctx.getPacket().properties?.userProperties ?? null",
    "echo_packet": "returns {data, packet: {topic, qos, retain, dup, properties}}",
    "events_seen": "returns the events stored so far: [{topic, data}] (alerts also has qos)",
    "events_clear": "forgets the stored events, returns how many there were",
    "user_created": "EVENT: stores {topic, data}",
    "lamp/+": "EVENT: stores {topic, data}",
    "alerts": "EVENT, subscribed with extras {qos: 2}: stores {topic, data, qos}",
}

_install_lock = threading.Lock()


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_node_modules() -> Path:
    """Make sure ``nest_app/node_modules`` matches the lock file; skip if node/npm are missing.

    Runs ``npm ci`` when ``node_modules`` is missing or older than ``package-lock.json``.
    Returns the app directory.
    """
    if not node_available():
        pytest.skip(
            "node and npm are required for the NestJS interop tests "
            "(run tests/interop/setup.sh, or apt-get install nodejs npm)"
        )
    stamp = NEST_APP_DIR / "node_modules" / ".package-lock.json"
    lock = NEST_APP_DIR / "package-lock.json"
    with _install_lock:
        if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NEST_APP_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"npm ci failed in {NEST_APP_DIR} (exit {result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}"
                )
    return NEST_APP_DIR


def _env(url: str, protocol_version: int, extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env["NEST_MQTT_URL"] = url
    env["NEST_MQTT_VERSION"] = str(protocol_version)
    env.setdefault("NO_COLOR", "1")
    if extra:
        env.update(extra)
    return env


class _NodeProcess:
    """A ``node <script>`` subprocess with line-reader threads for stdout and stderr."""

    script: str = ""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._proc: subprocess.Popen[str] | None = None
        self._stdout: queue.Queue[str | None] = queue.Queue()
        self._stderr_lines: list[str] = []
        self._threads: list[threading.Thread] = []

    @property
    def logs(self) -> list[str]:
        """Lines the process wrote to stderr so far (Nest's logger writes there)."""
        return list(self._stderr_lines)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self) -> None:
        ensure_node_modules()
        self._proc = subprocess.Popen(
            ["node", self.script],
            cwd=NEST_APP_DIR,
            env=self._env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump_stdout, args=(self._proc.stdout,), daemon=True),
            threading.Thread(target=self._pump_stderr, args=(self._proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump_stdout(self, stream: Any) -> None:
        for line in stream:
            self._stdout.put(line.rstrip("\n"))
        self._stdout.put(None)

    def _pump_stderr(self, stream: Any) -> None:
        for line in stream:
            self._stderr_lines.append(line.rstrip("\n"))

    def _write_line(self, line: str) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def _read_line(self, timeout: float) -> str:
        try:
            line = self._stdout.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(
                f"{self.script}: no output within {timeout} s; stderr:\n" + "\n".join(self.logs)
            ) from None
        if line is None:
            code = self._proc.wait() if self._proc else None
            raise RuntimeError(
                f"{self.script} exited (code {code}); stderr:\n" + "\n".join(self.logs)
            )
        return line

    def stop(self, timeout: float = 5.0) -> None:
        """Close stdin (the scripts exit cleanly when it ends), then terminate if needed."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(timeout=timeout)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    async def astop(self, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.stop, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()


class NestService(_NodeProcess):
    """The stock NestJS MQTT microservice of ``nest_app/service.js``.

    ``NestService(url).start()`` returns once Nest printed ``READY`` (connected and its handler
    topics subscribed). ``extra_env`` may set ``NEST_MQTT_CLIENT_ID`` or
    ``NEST_MQTT_SUBSCRIBE_OPTIONS`` (JSON, e.g. ``'{"qos":1}'``).
    """

    script = "service.js"

    def __init__(
        self, url: str, *, protocol_version: int = 4, extra_env: dict[str, str] | None = None
    ) -> None:
        super().__init__(_env(url, protocol_version, extra_env))
        self.url = url
        self.protocol_version = protocol_version

    def start(self, timeout: float = 20.0) -> Self:
        self._spawn()
        deadline = time.monotonic() + timeout
        try:
            while True:
                line = self._read_line(max(0.0, deadline - time.monotonic()))
                if line == "READY":
                    return self
        except BaseException:
            self.stop()
            raise

    async def astart(self, timeout: float = 20.0) -> Self:
        return await asyncio.to_thread(self.start, timeout)

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self


class NestClient(_NodeProcess):
    """A stock NestJS ``ClientMqtt`` (``nest_app/client.js``) driven over stdin/stdout.

    ``request({"op": "send", "pattern": "sum", "data": [1, 2, 3]})`` returns
    ``{"ok": True, "values": [6]}``. Errors come back as ``{"ok": False, "error": <err as the
    Nest client received it>, "values": [...]}``, Error instances raised inside the client as
    ``{"ok": False, "error": {"name", "message"}, "exception": True, ...}``, and a command with
    no outcome after ``timeout_ms`` (default 3000) as ``{"ok": False, "timeout": True, ...}``.
    ``user_properties`` become the client-wide ``userProperties`` option (MQTT 5).
    """

    script = "client.js"

    def __init__(
        self,
        url: str,
        *,
        protocol_version: int = 4,
        user_properties: dict[str, str] | None = None,
        timeout_ms: int = 3000,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = {"NEST_TIMEOUT_MS": str(timeout_ms), **(extra_env or {})}
        if user_properties is not None:
            env["NEST_MQTT_USER_PROPERTIES"] = json.dumps(user_properties)
        super().__init__(_env(url, protocol_version, env))
        self.url = url
        self.timeout_ms = timeout_ms
        self._lock = threading.Lock()

    def start(self) -> Self:
        self._spawn()
        return self

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def request(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Run one command and return its JSON result (commands run one at a time)."""
        if not self.running:
            self.start()
        timeout_ms = cmd.get("timeoutMs", self.timeout_ms)
        if cmd.get("op") == "batch":
            timeout_ms = max(
                [c.get("timeoutMs", self.timeout_ms) for c in cmd["commands"]], default=0
            )
        with self._lock:
            self._write_line(json.dumps(cmd))
            # The Nest-side timeout answers first; this one only guards against a hung process
            # (the first command also pays for the lazy MQTT connect).
            result: dict[str, Any] = json.loads(self._read_line(timeout_ms / 1000 + 15))
        return result

    def send(self, pattern: Any, data: Any, **options: Any) -> dict[str, Any]:
        """``client.send(pattern, data)``; options: userProperties, qos, retain, dup, timeoutMs."""
        return self.request({"op": "send", "pattern": pattern, "data": data, **options})

    def emit(self, pattern: Any, data: Any, **options: Any) -> dict[str, Any]:
        """``client.emit(pattern, data)``; completes once MQTT.js's publish callback fired."""
        return self.request({"op": "emit", "pattern": pattern, "data": data, **options})

    def batch(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run the commands concurrently inside the Nest client; results in the same order."""
        result = self.request({"op": "batch", "commands": commands})
        results: list[dict[str, Any]] = result["results"]
        return results

    async def arequest(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.request, cmd)

    async def asend(self, pattern: Any, data: Any, **options: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self.send, pattern, data, **options)

    async def aemit(self, pattern: Any, data: Any, **options: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self.emit, pattern, data, **options)

    async def abatch(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.batch, commands)


@dataclass
class NestReference:
    """A stock Nest client and service on a broker of their own, with a sniffer on it.

    The yardstick for a nestpy peer under test: run the same command through ``client`` here
    and through the Nest client facing nestpy, and compare the results and the bytes.
    """

    broker: PrivateMosquitto
    service: NestService
    client: NestClient
    sniffer: WireSniffer
