"""A microservice run as a subprocess by ``test_signals.py``:
``python signal_service.py <url> [options]`` (see ``--help``).

Prints ``ready`` once listening (with ``--listen-first``), ``<hook> <signal>`` from the
shutdown hooks, ``returned`` when ``run()`` returns and ``exit`` at the very end; logs go to
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from nestpy import Controller, Injectable, Module, ShutdownSignal
from nestpy.microservices import MessagePattern, NestMicroservice, Transport, create_microservice
from nestpy_mqtt import MqttOptions

APP: list[NestMicroservice] = []
CLOSING: set[asyncio.Future[None]] = set()
SLOW_HOOK = [0.0]


@Injectable()
class Hooks:
    async def before_application_shutdown(self, signal: str | None = None) -> None:
        print("before_application_shutdown", signal, flush=True)
        if SLOW_HOOK[0]:
            await asyncio.sleep(SLOW_HOOK[0])

    def on_application_shutdown(self, signal: str | None = None) -> None:
        print("on_application_shutdown", signal, flush=True)


@Controller()
class SignalsController:
    @MessagePattern("signals/ping")
    def ping(self, n: int) -> int:
        return n

    @MessagePattern("signals/close")
    def close(self, _data: object) -> str:
        # Not awaited here: close() drains the handlers in flight, this one included.
        CLOSING.add(asyncio.ensure_future(APP[0].close()))
        return "closing"


@Module(controllers=[SignalsController], providers=[Hooks])
class SignalsModule:
    pass


async def main(args: argparse.Namespace) -> None:
    SLOW_HOOK[0] = args.slow_hook
    chosen = ShutdownSignal if args.signals == "nest" else args.signals.split(",")
    app = await create_microservice(
        SignalsModule,
        transport=Transport.MQTT,
        options=MqttOptions(url=args.url, client_id="signals-svc"),
        shutdown_signals=chosen if args.signals else None,
    )
    APP.append(app)
    if args.close_on:  # close() from another task, triggered from outside
        number = getattr(signal, args.close_on)
        asyncio.get_running_loop().add_signal_handler(
            number, lambda: CLOSING.add(asyncio.ensure_future(app.close()))
        )
    if args.listen_first:
        await app.listen()
        print("ready", flush=True)
    await app.run()
    print("returned", flush=True)
    if args.linger:  # the test checks that run() removed its signal handlers
        await asyncio.sleep(args.linger)
    print("exit", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument(
        "--signals",
        default="",
        help="shutdown_signals: comma-separated, or 'nest' for ShutdownSignal",
    )
    parser.add_argument("--listen-first", action="store_true")
    parser.add_argument("--close-on", default="", help="a signal that calls app.close()")
    parser.add_argument("--slow-hook", type=float, default=0.0, help="seconds")
    parser.add_argument("--linger", type=float, default=0.0, help="seconds after run()")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(parser.parse_args()))
