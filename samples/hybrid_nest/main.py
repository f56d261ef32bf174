"""A NestJS client calls the nestpy math service: ``python -m samples.hybrid_nest``.

The math service (``samples.math_service.AppModule``) runs here, on the asyncio loop; the client
is the stock NestJS ``ClientMqtt`` of ``tests/interop/nest_app`` (``@nestjs/microservices`` and
``mqtt`` from npm). Each call is printed with what the Nest client received. MQTT 5 unless
``NESTPY_MQTT_PROTOCOL_VERSION`` says otherwise (with 3.1.1, user properties are not sent).
Exits with 0 when every answer is right, 1 otherwise; prints why and exits with 0 when node or
npm are missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from nestpy.microservices import Transport, create_microservice
from nestpy_mqtt import MqttOptions
from samples.brokers import NoBrokerError, pick_broker
from samples.hybrid_nest.nest_cli import NestCli, install_node_modules, missing_node
from samples.math_service import AppModule

Expected = dict[str, Any] | Callable[[dict[str, Any]], bool]


def validation_failed(got: dict[str, Any]) -> bool:
    error = got.get("error") or {}
    return got["ok"] is False and error.get("message") == "Payload validation failed"


def whoami(got: dict[str, Any]) -> bool:
    return got["ok"] is True and got["values"][0]["pattern"] == "whoami"


def calls(v5: bool) -> list[tuple[dict[str, Any], Expected]]:
    """Each Nest client command with the result it must get (or a test of the result)."""
    props = {"x-origin": "nestjs"}
    return [
        ({"op": "send", "pattern": "sum", "data": [1, 2, 3]}, {"ok": True, "values": [6]}),
        ({"op": "send", "pattern": "count_up", "data": 4}, {"ok": True, "values": [0, 1, 2, 3]}),
        (
            {"op": "send", "pattern": "divide", "data": {"dividend": 9, "divisor": 4}},
            {"ok": True, "values": [2.25]},
        ),
        (
            {"op": "send", "pattern": "sum", "data": []},
            {"ok": False, "error": {"status": "error", "message": "Nothing to add"}, "values": []},
        ),
        (
            {"op": "send", "pattern": "divide", "data": {"dividend": 1, "divisor": 0}},
            {
                "ok": False,
                "error": {"code": "DIVISION_BY_ZERO", "message": "Cannot divide by zero"},
                "values": [],
            },
        ),
        (
            {
                "op": "send",
                "pattern": "sensors/garden/temperature/c",
                "data": {"value": 21.5},
                "qos": 1,
                "userProperties": props,
            },
            {
                "ok": True,
                "values": [
                    {
                        "sensor": "garden",
                        "unit": "c",
                        "celsius": 21.5,
                        "qos": 1,
                        "user_properties": props if v5 else {},
                    }
                ],
            },
        ),
        (
            {
                "op": "send",
                "pattern": "replace-emoji",
                "data": ":rocket:",
                "userProperties": {"x-version": "2.0.0"},
            },
            {"ok": True, "values": [{"text": "🚀", "x_version": "2.0.0" if v5 else None}]},
        ),
        (
            {"op": "emit", "pattern": "user_created", "data": {"id": 7, "name": "Grace"}},
            {"ok": True, "values": []},
        ),
        ({"op": "send", "pattern": "users", "data": {}}, {"ok": True, "values": [["Grace"]]}),
        ({"op": "send", "pattern": "divide", "data": {"dividend": "ten"}}, validation_failed),
        ({"op": "send", "pattern": "whoami", "data": {}}, whoami),
        (
            {"op": "send", "pattern": "nobody_listens", "data": 1, "timeoutMs": 500},
            {"ok": False, "timeout": True, "values": []},
        ),
    ]


def describe(command: dict[str, Any]) -> str:
    extras = {k: v for k, v in command.items() if k in ("qos", "userProperties")}
    text = f"{command['op']}({command['pattern']!r}, {json_text(command['data'])})"
    return text + (f" {json_text(extras)}" if extras else "")


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def run(url: str, protocol_version: int) -> int:
    options = MqttOptions(url=url, protocol_version=protocol_version)
    app = await create_microservice(AppModule, transport=Transport.MQTT, options=options)
    await app.listen()
    print(f"hybrid: nestpy math service listening on {url} (MQTT {version(protocol_version)})")
    nest = NestCli(url, protocol_version)
    await nest.start()
    failures = 0
    try:
        for command, wanted in calls(protocol_version == 5):
            got = await nest.request(command)
            if command["pattern"] == "users":  # the event is handled asynchronously
                for _ in range(50):
                    if got != wanted:
                        await asyncio.sleep(0.05)
                        got = await nest.request(command)
            ok = wanted(got) if callable(wanted) else got == wanted
            failures += not ok
            shown = {k: v for k, v in got.items() if k != "ok"} if not got["ok"] else got["values"]
            text = json_text(shown)
            print(f"  {'ok' if ok else 'FAIL':<4} nest client {describe(command)}")
            print(f"       => {text if len(text) < 150 else text[:147] + '...'}", flush=True)
            if not ok:
                print(f"       expected {json_text(wanted)}")
    finally:
        await nest.close()
        await app.close()
    if failures:
        print(f"hybrid: FAILED: {failures} call(s) got a wrong answer")
        return 1
    print("hybrid: the NestJS client got every answer right from the nestpy service")
    return 0


def version(protocol_version: int) -> str:
    return "5" if protocol_version == 5 else "3.1.1"


def main() -> None:
    """Entry point of ``python -m samples.hybrid_nest``."""
    logging.basicConfig(level=logging.WARNING)
    reason = missing_node()
    if reason:
        print(f"hybrid: skipped: {reason}")
        sys.exit(0)
    try:
        install_node_modules()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"hybrid: error: npm ci failed: {exc}", file=sys.stderr)
        sys.exit(1)
    protocol_version = int(os.environ.get("NESTPY_MQTT_PROTOCOL_VERSION", "5"))
    try:
        with pick_broker(allow_amqtt=False) as broker:
            print(f"hybrid: broker: {broker.description}", flush=True)
            code = asyncio.run(run(broker.url, protocol_version))
    except NoBrokerError as exc:
        print(f"hybrid: error: no MQTT broker: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
