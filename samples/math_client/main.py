"""Call every feature of the math service and print the results: ``python -m samples.math_client``.

The broker comes from the environment (``NESTPY_MQTT_URL``, default ``mqtt://localhost:1883``;
``NESTPY_MQTT_PROTOCOL_VERSION=5`` to send MQTT 5 user properties). Start the service first
(``python -m samples.math_service``); the client waits up to ``--wait`` seconds for it.
Exits with 0 when every check passed, 1 when one failed, 2 when the service cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Annotated, Any

from nestpy import Inject, Injectable, Module, NestFactory
from nestpy.microservices import (
    ClientProxy,
    ClientsModule,
    ConnectionLostError,
    RequestTimeoutError,
    RpcException,
    Transport,
)
from nestpy_mqtt import MqttError, MqttOptions, MqttRecordBuilder, MqttStatus
from samples.math_client.checks import CheckFailed, Checks

MATH_SERVICE = "MATH_SERVICE"


def client_options() -> MqttOptions:
    """The client's options: the environment's, plus a request timeout and a client-wide
    user property (merged with each record's own; sent with MQTT 5 only)."""
    return MqttOptions(
        request_timeout=5, connect_timeout=10, user_properties={"x-client": "math-client"}
    )


@Injectable()
class MathTour:
    """Runs one call per feature through the injected ``MATH_SERVICE`` client."""

    def __init__(self, client: Annotated[ClientProxy, Inject(MATH_SERVICE)]) -> None:
        self.client = client
        self.checks = Checks()

    async def wait_for_service(self, wait: float) -> dict[str, Any]:
        """Ping until the service answers; raise ``RequestTimeoutError`` after ``wait`` s."""
        deadline = time.monotonic() + wait
        while True:
            try:
                reply: dict[str, Any] = await self.client.send("ping", "hello", timeout=0.5)
                return reply
            except RequestTimeoutError:
                if time.monotonic() >= deadline:
                    raise

    async def run(self, pong: dict[str, Any], v5: bool) -> None:
        """Call each feature once; raise ``CheckFailed`` at the first unexpected result."""
        c, send = self.checks, self.client.send
        c.ok("ping", f"-> the service answers (pid {pong['pid']})")

        c.expect("sum [1, 2, 3]", await send("sum", [1, 2, 3]), 6)
        c.expect(
            "divide 10 / 4 (pydantic payload)",
            await send("divide", {"dividend": 10, "divisor": 4}),
            2.5,
        )

        values = [i async for i in send("count_up", 5)]
        c.expect("count_up 5, async for (stream)", values, [0, 1, 2, 3, 4])
        c.expect("count_up 5, awaited (last value)", await send("count_up", 5), 4)

        await self.expect_error(
            "sum [] -> RpcException(str)",
            send("sum", []),
            {"status": "error", "message": "Nothing to add"},
        )
        await self.expect_error(
            "divide 1 / 0 -> RpcException(dict)",
            send("divide", {"dividend": 1, "divisor": 0}),
            {"code": "DIVISION_BY_ZERO", "message": "Cannot divide by zero"},
        )
        try:
            await send("divide", {"dividend": "ten"})
            c.fail("divide 'ten' -> validation error", "no error")
        except RpcException as exc:
            errors = exc.get_error()["errors"]  # the error dict, as the service sent it
            fields = sorted(".".join(map(str, e["loc"])) for e in errors)
            c.expect("divide 'ten' -> validation error, fields", fields, ["dividend", "divisor"])

        record = (
            MqttRecordBuilder({"value": 72.5})
            .set_qos(1)
            .set_properties(user_properties={"x-firmware": "1.4.2"})
            .build()
        )
        reading = await send("sensors/kitchen/temperature/f", record)
        props = {"x-client": "math-client", "x-firmware": "1.4.2"} if v5 else {}
        c.expect(
            "sensors/kitchen/temperature/f (wildcard, QoS 1)",
            reading,
            {"sensor": "kitchen", "unit": "f", "celsius": 22.5, "qos": 1, "user_properties": props},
        )
        emoji = MqttRecordBuilder(":cat:").set_properties(user_properties={"x-version": "1.0.0"})
        c.expect(
            "replace-emoji (record builder, x-version)",
            await send("replace-emoji", emoji.build()),
            {"text": "🐱", "x_version": "1.0.0" if v5 else None},
        )

        await self.client.emit("user_created", {"id": 1, "name": "Ada"})
        users = await self.users_after_event("Ada")
        if "Ada" not in users:
            c.fail("emit user_created, then users", f"-> {users!r} (the event was not handled)")
        c.ok("emit user_created, then users", f"-> {users!r}")

        first, second = await send("whoami", {}), await send("whoami", {})
        c.expect("whoami (request-scoped provider): topic", first["topic"], "whoami")
        if first["instance"] == second["instance"]:
            c.fail("whoami twice: a new provider per message", f"same instance {first['instance']}")
        c.ok(
            "whoami twice: a new provider per message",
            f"-> instances {first['instance']} and {second['instance']}",
        )

        try:
            await send("nobody_listens", 1, timeout=0.3)
            c.fail("nobody_listens (unsubscribed pattern)", "got a reply")
        except RequestTimeoutError:
            c.ok("nobody_listens (unsubscribed pattern)", "-> RequestTimeoutError after 0.3 s")

    async def expect_error(self, label: str, call: Any, wanted: Any) -> None:
        try:
            got = await call
        except RpcException as exc:
            self.checks.expect(label, exc.error, wanted)
            return
        self.checks.fail(label, f"no error, got {got!r}")

    async def users_after_event(self, name: str) -> list[str]:
        """Events have no reply: ask ``users`` until the event has been handled (at most 5 s)."""
        deadline = time.monotonic() + 5
        while True:
            users: list[str] = await self.client.send("users", {})
            if name in users or time.monotonic() > deadline:
                return users
            await asyncio.sleep(0.05)


@Module(
    imports=[
        ClientsModule.register_async(
            name=MATH_SERVICE, transport=Transport.MQTT, use_factory=client_options
        )
    ],
    providers=[MathTour],
)
class ClientModule:
    """The math client's application: ``ClientsModule`` provides ``MATH_SERVICE``."""


async def watch_status(client: Any, seen: list[MqttStatus]) -> None:
    async for status in client.status:
        seen.append(status)


async def tour(wait: float) -> int:
    options = client_options()
    v5 = options.protocol_version == 5
    version = (
        "MQTT 5"
        if v5
        else "MQTT 3.1.1 (user properties are not sent; NESTPY_MQTT_PROTOCOL_VERSION=5 sends them)"
    )
    print(f"math client: broker {options.url}, {version}", flush=True)
    app = await NestFactory.create_application_context(ClientModule)
    runner: MathTour = app.get(MathTour)
    seen: list[MqttStatus] = []
    watcher = asyncio.create_task(watch_status(runner.client, seen))
    try:
        try:
            await runner.client.connect()
        except MqttError as exc:
            print(f"math client: error: cannot reach the MQTT broker: {exc}", file=sys.stderr)
            return 2
        try:
            pong = await runner.wait_for_service(wait)
        except (RequestTimeoutError, ConnectionLostError) as exc:
            print(
                f"math client: error: the math service did not answer on {options.url} within "
                f"{wait:g} s ({type(exc).__name__}).\n"
                "Start it first, with the same NESTPY_MQTT_URL: python -m samples.math_service",
                file=sys.stderr,
            )
            return 2
        try:
            await runner.run(pong, v5)
        except (CheckFailed, RpcException, RequestTimeoutError, ConnectionLostError) as exc:
            print(f"math client: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    finally:
        await app.close()  # closes the client: its status stream reports "closed"
        for _ in range(100):
            if seen and seen[-1] is MqttStatus.CLOSED:
                break
            await asyncio.sleep(0.01)
        watcher.cancel()
    checks = runner.checks
    if seen[:1] != [MqttStatus.CONNECTED] or seen[-1:] != [MqttStatus.CLOSED]:
        checks.line("FAIL", "client status stream", f"-> {seen}")
        return 1
    checks.ok("client status stream", "-> " + " -> ".join(seen))
    print(f"math client: all {checks.passed} checks passed", flush=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m samples.math_client``."""
    parser = argparse.ArgumentParser(
        prog="python -m samples.math_client", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--wait", type=float, default=15.0, help="seconds to wait for the service (15)"
    )
    args = parser.parse_args(argv)
    sys.exit(asyncio.run(tour(args.wait)))


if __name__ == "__main__":
    main()
