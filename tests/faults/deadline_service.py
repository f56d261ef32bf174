"""A microservice run as a subprocess by ``test_request_deadlines.py``, so that a test can
freeze it (SIGSTOP) like a stalled host: ``python deadline_service.py <url>``.

Prints ``ready`` once listening; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator

from nestpy import Controller, Module
from nestpy.microservices import MessagePattern, Transport, create_microservice
from nestpy_mqtt import MqttOptions


@Controller()
class DeadlineController:
    @MessagePattern("deadline/sum")
    def sum(self, numbers: list[int]) -> int:
        return sum(numbers)

    @MessagePattern("deadline/count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i


@Module(controllers=[DeadlineController])
class DeadlineModule:
    pass


async def main(url: str) -> None:
    options = MqttOptions(url=url, reconnect_min_delay=0.05, reconnect_max_delay=0.2)
    app = await create_microservice(DeadlineModule, transport=Transport.MQTT, options=options)
    await app.listen()
    print("ready", flush=True)
    await app.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1]))
