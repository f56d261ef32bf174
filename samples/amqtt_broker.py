"""An embedded pure-Python MQTT 3.1.1 broker (amqtt), for machines without Mosquitto.

``python samples/amqtt_broker.py PORT`` serves ``127.0.0.1:PORT`` until SIGTERM/SIGINT. It runs
under the interpreter of the separate virtualenv ``scripts/demo`` installs amqtt into
(``.venv/amqtt``), so it imports nothing from nestpy.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys


async def serve(port: int) -> None:
    from amqtt.broker import Broker  # type: ignore[import-not-found]  # .venv/amqtt only

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(name, stop.set)
    print(f"amqtt broker listening on 127.0.0.1:{port}", flush=True)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    """Entry point: ``python samples/amqtt_broker.py PORT``."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
