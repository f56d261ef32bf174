"""A microservice run as a subprocess by ``test_graceful_shutdown.py``:
``python shutdown_service.py <url> <shared group> <drain timeout>``.

Prints ``ready`` once listening, ``started``/``finished`` around each slow handler call and
``closed`` when ``run()`` returns after SIGTERM; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from nestpy import Controller, Module
from nestpy.microservices import MessagePattern, Transport, create_microservice
from nestpy_mqtt import MqttOptions


@Controller()
class ShutdownController:
    @MessagePattern("shutdown/slow")
    async def slow(self, seconds: float) -> str:
        print("started", flush=True)
        await asyncio.sleep(seconds)
        print("finished", flush=True)
        return "subprocess"

    @MessagePattern("shutdown/fast")
    def fast(self, n: int) -> str:
        return "subprocess"


@Module(controllers=[ShutdownController])
class ShutdownModule:
    pass


async def main(url: str, group: str, drain_timeout: float) -> None:
    app = await create_microservice(
        ShutdownModule,
        transport=Transport.MQTT,
        options=MqttOptions(url=url, shared_group=group, client_id="shutdown-svc"),
        drain_timeout=drain_timeout,
    )
    await app.listen()
    print("ready", flush=True)
    await app.run()
    print("closed", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
