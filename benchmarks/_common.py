"""What the MQTT benchmark drivers share: the CLI, the workload, service processes, results.

The workload, identical for every implementation (Nest's wire format, MQTT 3.1.1 by default):

* rpc: request ``{"pattern":"sum","data":[1,2,3],"id":...}`` on topic ``sum``; the service
  answers ``{"response":6,"isDisposed":true,"id":...}`` on ``sum/reply``. ``--c`` requests are
  kept in flight by the client (closed loop: a reply lets the next request go).
* events: ``{"pattern":"counted","data":{"numbers":[1,2,3],"sent":T}}`` on topic ``counted``
  (QoS 0), emitted as fast as the client can in batches of ``--c``; ``T`` is the sender's
  ``time.monotonic()``, so the service can record the one-way latency.
* ``--qos 1``: requests and events are published, and the service subscribes, with QoS 1
  (replies stay QoS 0, as in Nest).
* ``count/<worker>`` (a request): the worker answers with what it has counted, and resets.

Each service runs in its own process(es), started by the driver with ``--serve``; it prints
``ready`` once subscribed and exits on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SUM = "sum"
EVENT = "counted"
SHARED_GROUP = "bench"
DEFAULT_N = {"rpc": 20_000, "events": 50_000}


def count_topic(worker: int) -> str:
    """The request topic that asks worker ``worker`` for its event count."""
    return f"count/{worker}"


def parse_args(
    description: str,
    argv: Sequence[str] | None = None,
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The CLI shared by ``benchmarks.mqtt`` and ``benchmarks.raw_paho``; ``configure`` adds
    an implementation's own options."""
    parser = argparse.ArgumentParser(description=description)
    if configure is not None:
        configure(parser)
    parser.add_argument("--port", type=int, required=True, help="broker port on --host")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mode", choices=("rpc", "events"), default="rpc")
    parser.add_argument("--n", type=int, default=None, help="timed messages (default 20k/50k)")
    parser.add_argument("--c", type=int, default=64, help="requests in flight / emit batch")
    parser.add_argument("--protocol", type=int, choices=(4, 5), default=4, help="MQTT version")
    parser.add_argument(
        "--tls",
        metavar="CA_FILE",
        default=None,
        help="connect over TLS to --port, verifying the broker's certificate with this CA",
    )
    parser.add_argument(
        "--ws",
        action="store_true",
        help="MQTT over WebSocket: --port is a WebSocket listener (ws://HOST:PORT/mqtt)",
    )
    parser.add_argument(
        "--qos", type=int, choices=(0, 1), default=0, help="QoS of requests and events"
    )
    parser.add_argument("--workers", type=int, default=1, help="service processes (shared group)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed messages first")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after (s)")
    parser.add_argument("--broker-pid", type=int, default=None, help="report its CPU time too")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.n is None:
        args.n = DEFAULT_N[args.mode]
    if args.warmup is None:
        args.warmup = min(2_000, max(args.c * 4, args.n // 5))
    if args.n < 1 or args.c < 1 or args.workers < 1:
        parser.error("--n, --c and --workers must be positive")
    return args


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def result(
    impl: str,
    args: argparse.Namespace,
    seconds: float,
    latencies_s: list[float],
    **extra: Any,
) -> dict[str, Any]:
    """The one-line JSON result: rates per second, latencies in milliseconds."""
    latencies_s.sort()
    done = extra.pop("done", args.n)
    rate = round(done / seconds, 1) if seconds > 0 else 0.0
    out: dict[str, Any] = {
        "impl": impl,
        "mode": args.mode,
        "n": args.n,
        "concurrency": args.c,
        "seconds": round(seconds, 4),
        "rps" if args.mode == "rpc" else "eps": rate,
        "p50_ms": round(percentile(latencies_s, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies_s, 0.99) * 1000, 3),
    }
    if args.protocol != 4:
        out["protocol"] = args.protocol
    if getattr(args, "qos", 0):
        out["qos"] = args.qos
    if args.workers != 1:
        out["workers"] = args.workers
    out.update(extra)
    return out


def cpu_meter(args: argparse.Namespace, services: Sequence[subprocess.Popen[str]]) -> CpuMeter:
    """A meter over this process, the service processes and (if given) the broker."""
    pids = {"service": [p.pid for p in services]}
    if args.broker_pid:
        pids["broker"] = [args.broker_pid]
    return CpuMeter(pids)


def emit_result(data: dict[str, Any]) -> None:
    """Print the result as one JSON line on stdout."""
    print(json.dumps(data), flush=True)


def service_argv(
    module: str, args: argparse.Namespace, worker: int, extra: Sequence[str] = ()
) -> list[str]:
    """The command line of one service process."""
    return [
        sys.executable,
        "-m",
        module,
        "--serve",
        "--port",
        str(args.port),
        "--host",
        args.host,
        "--protocol",
        str(args.protocol),
        *(["--tls", args.tls] if getattr(args, "tls", None) else []),
        *(["--ws"] if getattr(args, "ws", False) else []),
        "--qos",
        str(getattr(args, "qos", 0)),
        "--workers",
        str(args.workers),
        "--worker-index",
        str(worker),
        *extra,
    ]


def start_services(
    module: str, args: argparse.Namespace, extra: Sequence[str] = (), timeout: float = 30.0
) -> list[subprocess.Popen[str]]:
    """Start ``args.workers`` service processes; return once each printed ``ready``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), _pythonpath()]))}
    processes = [
        subprocess.Popen(
            service_argv(module, args, worker, extra),
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for worker in range(args.workers)
    ]
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()  # blocks; the service prints "ready" or dies
            if line.strip() != "ready" or time.monotonic() > deadline:
                raise RuntimeError(f"service {module} did not start (got {line!r})")
    except BaseException:
        stop_services(processes)
        raise
    return processes


def stop_services(processes: list[subprocess.Popen[str]], timeout: float = 10.0) -> None:
    """SIGTERM every service process and wait for it (SIGKILL after ``timeout``)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class CpuMeter:
    """CPU time (user + system) of this process and of other processes over a timed phase.

    On a machine shared with other work, CPU time per message is steadier than throughput.
    Other processes are read from ``/proc/<pid>/stat`` (Linux; elsewhere they are omitted).
    """

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self._start: dict[str, float | None] = {}

    def _sample(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {"client": time.process_time()}
        for name, pids in self.pids.items():
            times = [_proc_cpu(pid) for pid in pids]
            out[name] = None if None in times else sum(t for t in times if t is not None)
        return out

    def start(self) -> None:
        """Take the first sample."""
        self._start = self._sample()

    def per_message_us(self, messages: int) -> dict[str, float]:
        """``<name>_cpu_us``: CPU microseconds per message since ``start()``, per process group."""
        end = self._sample()
        out: dict[str, float] = {}
        for name, value in end.items():
            first = self._start.get(name)
            if value is not None and first is not None and messages:
                out[f"{name}_cpu_us"] = round((value - first) / messages * 1e6, 1)
        return out


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


class EventStats:
    """What one service worker counted: events, first/last arrival, one-way latencies."""

    __slots__ = ("count", "first", "last", "latencies")

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies: list[float] = []

    def record(self, data: Any) -> None:
        """Count one event whose data carries the sender's ``sent`` monotonic time."""
        now = time.monotonic()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        self.latencies.append(now - data["sent"])

    def report(self, with_latencies: bool) -> dict[str, Any]:
        """The counters (latencies only on request: they are big), then start again."""
        out: dict[str, Any] = {"count": self.count, "first": self.first, "last": self.last}
        if with_latencies:
            out["latencies"] = [round(x, 7) for x in self.latencies]
        return out

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.count = 0
        self.latencies = []


def event_data() -> dict[str, Any]:
    """The data of one event: the numbers and the send time."""
    return {"numbers": [1, 2, 3], "sent": time.monotonic()}
