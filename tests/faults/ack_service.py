"""A microservice run as a subprocess by ``test_ack_policy.py``, to be killed with SIGKILL:
``python ack_service.py <url> <protocol version> <ack policy> <client id>``.

Persistent session, one QoS 1 and one QoS 2 event pattern. Prints ``ready`` once listening
and ``got <data> dup=<True|False>`` as each handler starts; ``"slow"`` then sleeps a minute.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated, Any

from nestpy import Controller, Module
from nestpy.microservices import Ctx, EventPattern, Transport, create_microservice
from nestpy_mqtt import MqttContext, MqttOptions


@Controller()
class WorkController:
    async def _work(self, data: Any, ctx: MqttContext) -> None:
        print(f"got {data} dup={ctx.is_duplicate()}", flush=True)
        if data == "slow":
            await asyncio.sleep(60)

    @EventPattern("ack/work1", qos=1)
    async def work1(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        await self._work(data, ctx)

    @EventPattern("ack/work2", qos=2)
    async def work2(self, data: Any, ctx: Annotated[MqttContext, Ctx()]) -> None:
        await self._work(data, ctx)


@Module(controllers=[WorkController])
class WorkModule:
    pass


async def main(url: str, version: int, policy: str, client_id: str) -> None:
    options = MqttOptions(
        url=url,
        protocol_version=version,
        client_id=client_id,
        clean_session=False,
        session_expiry_interval=600 if version == 5 else None,
        ack_policy=policy,
    )
    app = await create_microservice(WorkModule, transport=Transport.MQTT, options=options)
    await app.listen()
    print("ready", flush=True)
    await app.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
