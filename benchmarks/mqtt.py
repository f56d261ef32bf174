"""nestpy client -> nestpy service over MQTT: requests/s or events/s, and latency percentiles.

Run (a broker must be listening on the port; ``benchmarks/run.sh`` starts a private one)::

    python -m benchmarks.mqtt --port 1884 --mode rpc --n 20000 --c 64

It starts the service in ``--workers`` separate processes (``create_microservice`` with a
``sum`` ``@MessagePattern`` and a ``counted`` ``@EventPattern``; more than one worker share the
subscriptions through ``$share/bench/...``), drives it with ``ClientProxyFactory.create`` in
this process, and prints one JSON line (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from benchmarks import _common as common
from benchmarks import _ops as ops
from nestpy import Controller, Module
from nestpy.microservices import (
    ClientProxy,
    ClientProxyFactory,
    EventPattern,
    MessagePattern,
    Transport,
    create_microservice,
)
from nestpy_mqtt import AckPolicy, MqttContext, MqttOptions, MqttRecordBuilder

IMPL = "nestpy"


def options(args: argparse.Namespace, *, service: bool) -> MqttOptions:
    """Broker URL (TLS with ``--tls``, WebSocket with ``--ws``), protocol and (for several
    service workers) the shared group."""
    group = common.SHARED_GROUP if service and args.workers > 1 else None
    scheme = ("ws" if args.ws else "mqtt") + ("s" if args.tls else "")
    return MqttOptions(
        url=f"{scheme}://{args.host}:{args.port}" + ("/mqtt" if args.ws else ""),
        tls={"ca_certs": args.tls} if args.tls else None,
        protocol_version=args.protocol,
        shared_group=group,
        subscribe_options={"qos": args.qos if service else 0},
        ack_policy=args.ack_policy,
        fast_path=args.fast_path == "on",
    )


HANDLERS = ("def", "thread", "async")


def sum_handler(kind: str, manual_ack: bool = False) -> Any:
    """The ``sum`` handler as a plain ``def`` (run on the loop), a ``def`` with
    ``run_in_thread=True``, or an ``async def``; with ``manual_ack`` a ``def`` that calls
    ``ctx.ack()`` (``--ack-policy manual``)."""
    if manual_ack:

        def sum_ack(self: Any, numbers: list[int], ctx: MqttContext) -> int:
            ctx.ack()
            return sum(numbers)

        return MessagePattern(common.SUM)(sum_ack)
    if kind == "async":

        async def sum_async(self: Any, numbers: list[int]) -> int:
            return sum(numbers)

        return MessagePattern(common.SUM)(sum_async)

    def sum_def(self: Any, numbers: list[int]) -> int:
        return sum(numbers)

    return MessagePattern(common.SUM, run_in_thread=kind == "thread")(sum_def)


def build_module(worker: int, handler: str = "def", manual_ack: bool = False) -> type[Any]:
    """The service's module: the README's ``sum`` handler, an event counter, a count query."""
    stats = common.EventStats()

    @Controller()
    class BenchController:
        sum = sum_handler(handler, manual_ack)

        if manual_ack:

            @EventPattern(common.EVENT)
            def counted(self, data: dict[str, Any], ctx: MqttContext) -> None:
                stats.record(data)
                ctx.ack()
        else:

            @EventPattern(common.EVENT)
            def counted(self, data: dict[str, Any]) -> None:
                stats.record(data)

        @MessagePattern(common.count_topic(worker))
        def count(self, query: dict[str, Any]) -> dict[str, Any]:
            report = stats.report(bool(query.get("latencies")))
            if query.get("reset"):
                stats.reset()
            return report

    @Module(controllers=[BenchController])
    class BenchModule: ...

    return BenchModule


async def serve(args: argparse.Namespace) -> None:
    """The service process: listen, print ``ready``, serve until SIGTERM."""
    ops.enable_in_process(args, client=False)
    app = await create_microservice(
        build_module(args.worker_index, args.handler, args.ack_policy == AckPolicy.MANUAL),
        transport=Transport.MQTT,
        options=options(args, service=True),
        freeze_gc=True,
        **ops.service_kwargs(args),
    )
    await app.listen()
    print("ready", flush=True)
    await app.run()


async def run_rpc(client: ClientProxy, n: int, c: int, qos: int = 0) -> tuple[float, list[float]]:
    """Send ``n`` requests with ``c`` in flight; return the elapsed time and each latency."""
    latencies: list[float] = []
    remaining = n
    clock = time.perf_counter
    data: Any = MqttRecordBuilder([1, 2, 3]).set_qos(qos).build() if qos else [1, 2, 3]

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            sent = clock()
            await client.send(common.SUM, data)
            latencies.append(clock() - sent)

    started = clock()
    await asyncio.gather(*(worker() for _ in range(min(c, n))))
    return clock() - started, latencies


def _event(qos: int) -> Any:
    data = common.event_data()
    return MqttRecordBuilder(data).set_qos(qos).build() if qos else data


async def emit_events(client: ClientProxy, n: int, c: int, qos: int = 0) -> None:
    """Emit ``n`` events in batches of ``c``, each batch awaited (written to the socket; with
    QoS 1, acknowledged by the broker)."""
    for start in range(0, n, c):
        await asyncio.gather(
            *(client.emit(common.EVENT, _event(qos)) for _ in range(min(c, n - start)))
        )


async def collect(client: ClientProxy, args: argparse.Namespace, expected: int) -> dict[str, Any]:
    """Poll every worker's count until ``expected`` events arrived or arrivals stop (2 s)."""
    total, stalled_since = -1, time.monotonic()
    while True:
        reports = [
            await client.send(common.count_topic(w), {"reset": False}, timeout=60)
            for w in range(args.workers)
        ]
        now_total = sum(r["count"] for r in reports)
        if now_total != total:
            total, stalled_since = now_total, time.monotonic()
        if total >= expected or time.monotonic() - stalled_since > 2.0:
            break
        await asyncio.sleep(0.02)
    reports = [
        await client.send(common.count_topic(w), {"reset": True, "latencies": True}, timeout=60)
        for w in range(args.workers)
    ]
    return {
        "count": sum(r["count"] for r in reports),
        "last": max((r["last"] for r in reports if r["count"]), default=0.0),
        "latencies": [x for r in reports for x in r["latencies"]],
    }


async def drive(args: argparse.Namespace, meter: common.CpuMeter) -> dict[str, Any]:
    """The client side: warm up, then time ``args.n`` requests or events."""
    ops.enable_in_process(args, client=True)
    client = ClientProxyFactory.create(
        transport=Transport.MQTT, options=options(args, service=False)
    )
    await client.connect()
    try:
        if args.mode == "rpc":
            answer = await client.send(common.SUM, [1, 2, 3], timeout=10)
            if answer != 6:
                raise RuntimeError(f"sum([1,2,3]) answered {answer!r}")
            await run_rpc(client, args.warmup, args.c, args.qos)
            meter.start()
            seconds, latencies = await run_rpc(client, args.n, args.c, args.qos)
            cpu = meter.per_message_us(args.n)
            if args.handler != "def":
                cpu["handler"] = args.handler
            cpu.update(ops.labels(args))
            if args.qos:
                cpu["ack_policy"] = str(args.ack_policy)
            return common.result(IMPL, args, seconds, latencies, **cpu)
        await emit_events(client, args.warmup, args.c, args.qos)
        await collect(client, args, args.warmup)  # also resets the counters
        meter.start()
        started = time.monotonic()
        await emit_events(client, args.n, args.c, args.qos)
        got = await collect(client, args, args.n)
        cpu = meter.per_message_us(got["count"])
        seconds = got["last"] - started
        return common.result(
            IMPL,
            args,
            seconds,
            got["latencies"],
            done=got["count"],
            lost=args.n - got["count"],
            **cpu,
            **ops.labels(args),
            **({"ack_policy": str(args.ack_policy)} if args.qos else {}),
        )
    finally:
        await client.close()


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--handler",
        choices=HANDLERS,
        default="def",
        help="the sum handler: def (on the loop), thread (run_in_thread=True) or async def",
    )
    ops.add_options(parser)
    parser.add_argument(
        "--ack-policy",
        type=AckPolicy,
        choices=list(AckPolicy),
        default=AckPolicy.AFTER_HANDLER,
        help="when the service acknowledges QoS 1 messages (with --qos 1)",
    )
    parser.add_argument(
        "--fast-path",
        choices=("on", "off"),
        default="on",
        help="off: MqttOptions(fast_path=False), paho's own socket and reader (client, service)",
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``--serve`` runs a service worker, otherwise the whole benchmark."""
    args = common.parse_args(__doc__.splitlines()[0], argv, _options)
    if args.serve:
        asyncio.run(serve(args))
        return
    extra = ["--handler", args.handler, "--ack-policy", str(args.ack_policy)]
    extra += ["--fast-path", args.fast_path, *ops.service_flags(args)]
    services = common.start_services("benchmarks.mqtt", args, extra)
    try:
        meter = common.cpu_meter(args, services)
        data = asyncio.run(asyncio.wait_for(drive(args, meter), args.timeout))
    finally:
        common.stop_services(services)
    common.emit_result(data)


if __name__ == "__main__":
    main(sys.argv[1:])
