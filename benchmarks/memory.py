"""Memory: the RSS of an idle service, and what 10,000 pending requests cost a client.

Run::

    python -m benchmarks.memory              # starts a private Mosquitto
    python -m benchmarks.memory --port 1884  # or uses the broker on that port

Prints one JSON line:

* ``python_rss_mb``: a bare interpreter (``python -c ...``), for reference;
* ``raw_paho_service_rss_mb`` / ``nestpy_service_rss_mb``: the ``benchmarks.raw_paho`` and
  ``benchmarks.mqtt`` service processes, connected and subscribed, idle;
* ``client_rss_growth_mb_per_10k_pending``: RSS growth of this process after 10,000
  ``client.send`` calls that nobody answers (each caller awaiting in its own task, as an
  application would), and ``bytes_per_pending_request`` as counted by ``tracemalloc``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import _common as common
from nestpy.microservices import ClientProxyFactory, Transport
from nestpy_mqtt import MqttOptions
from nestpy_mqtt.testing import MosquittoBroker

PENDING = 10_000


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process, in MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def python_rss() -> float:
    """RSS of a bare interpreter."""
    code = "from pathlib import Path; print(Path('/proc/self/status').read_text())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("VmRSS:"))
    return round(int(line.split()[1]) / 1024, 1)


def idle_service_rss(module: str, port: int) -> float:
    """Start one service process, let it settle, read its RSS, stop it."""
    args = argparse.Namespace(port=port, host="127.0.0.1", protocol=4, workers=1)
    extra = ["--loop", "epoll", "--io", "paho"] if module.endswith("raw_paho") else []
    services = common.start_services(module, args, extra)
    try:
        time.sleep(0.5)
        return rss_mb(services[0].pid)
    finally:
        common.stop_services(services)


async def _pending(client: Any, traced: bool, pending: int) -> float:
    """Make ``pending`` requests wait; return RSS (MiB) or traced bytes grown meanwhile."""
    gc.collect()
    if traced:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0] if traced else rss_mb()
    tasks = [asyncio.ensure_future(client.send("nobody/home", [1, 2, 3])) for _ in range(pending)]
    while client.pending_requests < pending + 1:  # noqa: ASYNC110 - no event to wait for
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # let every publish reach the socket
    gc.collect()
    grown = (tracemalloc.get_traced_memory()[0] if traced else rss_mb()) - before
    tracemalloc.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return grown


async def pending_cost(port: int, pending: int = PENDING) -> dict[str, Any]:
    """RSS growth (untraced run) and traced bytes (second run) for ``pending`` requests."""
    options = MqttOptions(url=f"mqtt://127.0.0.1:{port}")
    client = ClientProxyFactory.create(transport=Transport.MQTT, options=options)
    await client.connect()
    warm = asyncio.ensure_future(client.send("nobody/home", [1, 2, 3]))  # reply subscription
    while client.pending_requests < 1:  # noqa: ASYNC110 - no event to wait for
        await asyncio.sleep(0.01)
    try:
        rss = await _pending(client, False, pending)
        traced = await _pending(client, True, pending)
    finally:
        warm.cancel()
        await asyncio.gather(warm, return_exceptions=True)
        await client.close()
    return {
        "client_rss_growth_mb_per_10k_pending": round(rss * 10_000 / pending, 1),
        "bytes_per_pending_request": round(traced / pending),
    }


def measure(port: int, pending: int = PENDING) -> dict[str, Any]:
    """Every measurement against the broker on ``port``."""
    return {
        "python_rss_mb": python_rss(),
        "raw_paho_service_rss_mb": idle_service_rss("benchmarks.raw_paho", port),
        "nestpy_service_rss_mb": idle_service_rss("benchmarks.mqtt", port),
        **asyncio.run(pending_cost(port, pending)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="broker port (default: private)")
    parser.add_argument("--pending", type=int, default=PENDING, help="requests left pending")
    args = parser.parse_args(argv)
    if args.port is not None:
        result = measure(args.port, args.pending)
    else:
        with MosquittoBroker() as broker:
            result = measure(broker.port, args.pending)
    print(json.dumps({"impl": "nestpy", "mode": "memory", **result}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
