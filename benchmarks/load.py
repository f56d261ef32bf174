"""Load: many requests from several client processes to service instances in a shared group.

Run::

    python -m benchmarks.load                       # 100,000 requests, 256 in flight,
                                                    # 4 clients, 2 services, private Mosquitto
    python -m benchmarks.load --requests 5000 --in-flight 64 --clients 2 --services 2
    python -m benchmarks.load --url mqtt://127.0.0.1:1884   # an existing broker

Each service process answers ``load/echo`` (``{"i": i}`` -> ``{"i": i}``) in the shared group
``load``; each client process sends its share of the requests with ``in-flight / clients``
of them waiting at any time, and checks that each reply carries its own request's ``i``.
Prints one JSON line per process (``role``, counts, ``rss_before_mb`` once connected,
``rss_after_mb`` after the traffic and a ``gc.collect()``), then a ``summary`` line:
``answered`` and ``handled`` must both equal ``requests`` (every request answered exactly
once), ``pending`` must be 0. A benchmark, not a test of speed: ``seconds`` is informative.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.memory import rss_mb
from nestpy import Controller, Module
from nestpy.microservices import ClientProxyFactory, MessagePattern, Transport, create_microservice
from nestpy_mqtt import ClientMqtt, MqttOptions
from nestpy_mqtt.testing import MosquittoBroker

ROOT = Path(__file__).resolve().parents[1]
GROUP = "load"
PATTERN = "load/echo"


@Controller()
class EchoController:
    def __init__(self) -> None:
        self.handled = 0

    @MessagePattern(PATTERN)
    def echo(self, data: dict[str, int]) -> dict[str, int]:
        self.handled += 1
        return data


@Module(controllers=[EchoController])
class LoadModule:
    pass


def emit(**values: Any) -> None:
    print(json.dumps(values), flush=True)


async def serve(url: str) -> None:
    """A service instance: prints ``ready``, then its counts and RSS on SIGTERM."""
    app = await create_microservice(
        LoadModule, transport=Transport.MQTT, options=MqttOptions(url=url, shared_group=GROUP)
    )
    await app.listen()
    gc.collect()
    before = rss_mb()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    handled = app.get(EchoController).handled
    await app.close()
    gc.collect()
    emit(
        role="service",
        pid=os.getpid(),
        handled=handled,
        rss_before_mb=before,
        rss_after_mb=rss_mb(),
    )


async def send_share(url: str, first: int, count: int, in_flight: int) -> None:
    """A client process: requests ``first .. first + count - 1`` with ``in_flight`` waiting."""
    client = ClientProxyFactory.create(transport=Transport.MQTT, options=MqttOptions(url=url))
    assert isinstance(client, ClientMqtt)
    await client.connect()
    await client.send(PATTERN, {"i": -1}, timeout=10)  # warm up: reply subscription made
    gc.collect()
    before = rss_mb()
    answered = bytearray(count)  # a flag per request: no per-request object to measure
    errors: list[str] = []
    mismatched = 0
    next_i = first
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal next_i, mismatched
        while next_i < first + count:
            i, next_i = next_i, next_i + 1
            try:
                reply = await client.send(PATTERN, {"i": i}, timeout=60)
            except Exception as exc:
                errors.append(repr(exc))
                continue
            if reply != {"i": i} or answered[i - first]:
                mismatched += 1
            answered[i - first] = 1

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    seconds = time.perf_counter() - started
    pending = client.pending_requests
    await client.close()
    gc.collect()
    emit(
        role="client",
        pid=os.getpid(),
        sent=count,
        answered=sum(answered),
        mismatched=mismatched,
        errors=len(errors),
        first_errors=errors[:3],
        pending=pending,
        seconds=round(seconds, 2),
        rss_before_mb=before,
        rss_after_mb=rss_mb(),
    )


def spawn(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.load", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the services and clients, wait for the clients, stop the services; summarise."""
    services = [spawn("--serve", "--url", args.url) for _ in range(args.services)]
    for process in services:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("a service did not start")
    share, extra = divmod(args.requests, args.clients)
    per_client = max(1, args.in_flight // args.clients)
    clients = []
    first = 0
    for index in range(args.clients):
        count = share + (1 if index < extra else 0)
        clients.append(spawn("--send", str(first), str(count), str(per_client), "--url", args.url))
        first += count
    started = time.perf_counter()
    reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in clients]
    seconds = time.perf_counter() - started
    for process in services:
        process.send_signal(signal.SIGTERM)
    reports += [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in services]
    for report in reports:
        emit(**report)
    clients_seen = [r for r in reports if r["role"] == "client"]
    services_seen = [r for r in reports if r["role"] == "service"]
    summary = {
        "summary": True,
        "requests": args.requests,
        "in_flight": per_client * args.clients,
        "clients": args.clients,
        "services": args.services,
        "answered": sum(r["answered"] for r in clients_seen),
        "mismatched": sum(r["mismatched"] for r in clients_seen),
        "errors": sum(r["errors"] for r in clients_seen),
        "pending": sum(r["pending"] for r in clients_seen),
        # the warm-up request of each client is handled too
        "handled": sum(r["handled"] for r in services_seen) - args.clients,
        "handled_per_service": [r["handled"] for r in services_seen],
        "seconds": round(seconds, 2),
        "requests_per_second": round(args.requests / seconds),
    }
    emit(**summary)
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="broker URL (default: a private Mosquitto)")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--services", type=int, default=2)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.url))
    elif args.send:
        asyncio.run(send_share(args.url, *args.send))
    elif args.url:
        run(args)
    else:
        with MosquittoBroker(max_queued_messages=1_000_000) as broker:
            args.url = broker.url
            run(args)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
