"""Wildcards and shared subscriptions: ``python -m samples.sensor_fleet``.

Starts ``--instances`` copies of the fleet service in one shared group (each with its own MQTT
connection, as separate processes would have), lets a simulated fleet publish readings to
``sensors/<id>/temperature/<unit>``, prints which instance handled which reading, and exits
with 0 when every reading was handled exactly once. The broker is ``NESTPY_MQTT_URL`` if it
answers, else a private Mosquitto (see ``samples.brokers``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter

from nestpy.microservices import NestMicroservice, Transport, create_microservice
from nestpy_mqtt import MqttOptions
from samples.brokers import NoBrokerError, pick_broker
from samples.sensor_fleet.devices import publish_all, readings
from samples.sensor_fleet.fleet_module import FleetModule, HandledLog


async def start_instances(url: str, count: int, group: str) -> list[NestMicroservice]:
    apps = []
    for number in range(1, count + 1):
        app = await create_microservice(
            FleetModule.for_instance(f"fleet-{number}"),
            transport=Transport.MQTT,
            options=MqttOptions(url=url, shared_group=group),
        )
        await app.listen()
        apps.append(app)
    return apps


async def run(url: str, args: argparse.Namespace) -> int:
    apps = await start_instances(url, args.instances, args.group)
    logs: list[HandledLog] = [app.get(HandledLog) for app in apps]
    try:
        messages = readings(args.sensors, args.readings)
        print(
            f"sensor fleet: {args.instances} instances subscribed to "
            f"$share/{args.group}/sensors/+/temperature/+; "
            f"{args.sensors} sensors publish {len(messages)} readings",
            flush=True,
        )
        await asyncio.to_thread(publish_all, MqttOptions(url=url), messages)
        deadline = time.monotonic() + args.timeout
        while sum(len(log.readings) for log in logs) < len(messages):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a duplicate delivery would show up now
    finally:
        for app in apps:
            await app.close()
    return report(logs, len(messages))


def report(logs: list[HandledLog], published: int) -> int:
    seen = Counter(h.seq for log in logs for h in log.readings)
    print("sensor fleet: who handled what")
    for log in logs:
        sensors = sorted({h.sensor for h in log.readings})
        print(f"  {log.name:<8} {len(log.readings):3d} readings  from {' '.join(sensors) or '-'}")
    twice = sorted(seq for seq, n in seen.items() if n > 1)
    missing = sorted(set(range(1, published + 1)) - set(seen))
    busy = sum(1 for log in logs if log.readings)
    if twice or missing:
        print(f"sensor fleet: FAILED: handled twice {twice or '-'}, never handled {missing or '-'}")
        return 1
    print(
        f"sensor fleet: every reading handled exactly once ({published}/{published}), "
        f"shared by {busy} of {len(logs)} instances"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m samples.sensor_fleet``."""
    parser = argparse.ArgumentParser(prog="python -m samples.sensor_fleet", description=__doc__)
    parser.add_argument("--instances", type=int, default=3, help="service instances (3)")
    parser.add_argument("--sensors", type=int, default=5, help="simulated sensors (5)")
    parser.add_argument("--readings", type=int, default=4, help="readings per sensor (4)")
    parser.add_argument("--group", default="fleet", help="shared subscription group (fleet)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait (10)")
    args = parser.parse_args(argv)
    try:
        with pick_broker(allow_amqtt=False) as broker:
            print(f"sensor fleet: broker: {broker.description}", flush=True)
            code = asyncio.run(run(broker.url, args))
    except NoBrokerError as exc:
        print(f"sensor fleet: error: no MQTT broker: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
