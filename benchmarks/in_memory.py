"""The framework's own cost per message: nestpy client -> nestpy service on the in-memory
transport (no broker, no sockets, no paho), in one process.

Run::

    python -m benchmarks.in_memory --n 20000

Prints one JSON line per row: request/reply with 1 and with 64 in flight, and events; ``us``
is the wall time per message and ``cpu_us`` the CPU time (client and service together, one
process): what the framework itself costs, with no network layer. Same handlers as
``benchmarks.mqtt``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks import _common as common
from benchmarks.mqtt import build_module, emit_events, run_rpc
from nestpy.microservices import ClientProxy, ClientProxyFactory, Transport, create_microservice
from nestpy.testing.in_memory import InMemoryBroker, InMemoryOptions


async def wait_events(client: ClientProxy, expected: int) -> None:
    """Wait until the service counted ``expected`` events, then reset its counter."""
    while True:
        report = await client.send(common.count_topic(0), {"reset": False})
        if report["count"] >= expected:
            break
        await asyncio.sleep(0)
    await client.send(common.count_topic(0), {"reset": True})


def row(
    mode: str, n: int, c: int, seconds: float, cpu: float, latencies: list[float]
) -> dict[str, Any]:
    """One JSON result line."""
    latencies.sort()
    p50 = round(common.percentile(latencies, 0.5) * 1000, 3) if latencies else None
    p99 = round(common.percentile(latencies, 0.99) * 1000, 3) if latencies else None
    return {
        "impl": "nestpy-in-memory",
        "mode": mode,
        "n": n,
        "concurrency": c,
        "seconds": round(seconds, 4),
        "rps" if mode == "rpc" else "eps": round(n / seconds, 1),
        "us": round(seconds / n * 1e6, 2),
        "cpu_us": round(cpu / n * 1e6, 2),
        "p50_ms": p50,
        "p99_ms": p99,
    }


async def main_async(n: int) -> list[dict[str, Any]]:
    """Run every row on a fresh in-memory broker."""
    options = InMemoryOptions(broker=InMemoryBroker(), request_timeout=None)
    app = await create_microservice(build_module(0), transport=Transport.IN_MEMORY, options=options)
    await app.listen()
    client = ClientProxyFactory.create(transport=Transport.IN_MEMORY, options=options)
    results = []
    try:
        for c in (1, 64):
            await run_rpc(client, min(n, 2_000), c)  # warm-up
            options.broker.published.clear()  # the broker keeps a log for tests: empty it
            cpu = time.process_time()
            seconds, latencies = await run_rpc(client, n, c)
            cpu = time.process_time() - cpu
            options.broker.published.clear()
            results.append(row("rpc", n, c, seconds, cpu, latencies))
        await emit_events(client, min(n, 2_000), 64)
        await wait_events(client, min(n, 2_000))
        started, cpu = time.perf_counter(), time.process_time()
        await emit_events(client, n, 64)
        await wait_events(client, n)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        options.broker.published.clear()
        results.append(row("events", n, 64, seconds, cpu, []))
    finally:
        await client.close()
        await app.close()
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args(argv)
    for result in asyncio.run(main_async(args.n)):
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
