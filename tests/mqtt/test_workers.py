"""WorkerPool: one service in several processes sharing its subscriptions (a real broker)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nestpy import Module
from nestpy.microservices import Transport, create_microservice
from nestpy.microservices.workers import WorkerPool
from nestpy_mqtt import ClientMqtt, MqttOptions, ServerMqtt
from nestpy_mqtt.testing import MosquittoBroker
from nestpy_mqtt.workers import with_shared_group

pytestmark = pytest.mark.mqtt

SERVICE = textwrap.dedent(
    """
    import asyncio, sys
    from typing import Any
    from nestpy import Controller, Module
    from nestpy.microservices import MessagePattern, Transport, create_microservice
    from nestpy.microservices.workers import worker_index
    from nestpy_mqtt import MqttOptions

    @Controller()
    class WhoController:
        @MessagePattern("who")
        def who(self, _data: Any) -> int:
            return worker_index()

    @Module(controllers=[WhoController])
    class WhoModule: ...

    async def main() -> None:
        app = await create_microservice(
            WhoModule, transport=Transport.MQTT, options=MqttOptions(url=sys.argv[1]), workers=2
        )
        task = asyncio.ensure_future(app.run())
        if worker_index() == 0:  # the process the test started
            while not app.workers.pids:
                await asyncio.sleep(0.05)
            print("ready", *app.workers.pids, flush=True)
        await task

    asyncio.run(main())
    """
)


@Module()
class EmptyModule: ...


def test_with_shared_group_keeps_its_old_import_path_with_a_deprecation_warning() -> None:
    import nestpy.microservices.workers as core_workers

    with pytest.warns(DeprecationWarning, match=r"moved to nestpy_mqtt\.workers"):
        assert core_workers.with_shared_group is with_shared_group
    with pytest.warns(DeprecationWarning, match="DEFAULT_GROUP moved"):
        assert core_workers.DEFAULT_GROUP == "nestpy"


async def test_the_transport_builds_the_server_of_n_workers_with_the_shared_group() -> None:
    options = MqttOptions(url="mqtt://127.0.0.1:1")
    app = await create_microservice(
        EmptyModule, transport=Transport.MQTT, options=options, workers=2
    )
    server = app.server
    assert isinstance(server, ServerMqtt)
    assert server.options.shared_group == "nestpy"
    assert options.shared_group is None  # the caller's options are not changed
    # Built with the group, not patched after construction: its connection has the same options.
    assert server._connection.options is server.options
    assert server.subscription_topic("who") == "$share/nestpy/who"
    await app.close()


async def test_workers_need_a_transport_that_shares_subscriptions() -> None:
    with pytest.raises(ValueError, match=r"workers > 1 needs a transport with shared subscript"):
        await create_microservice(EmptyModule, transport=Transport.IN_MEMORY, workers=2)
    with pytest.raises(ValueError, match=r"a ready server cannot be changed"):
        await create_microservice(
            EmptyModule, strategy=ServerMqtt(MqttOptions(url="mqtt://127.0.0.1:1")), workers=2
        )


def test_with_shared_group() -> None:
    options = MqttOptions(url="mqtt://127.0.0.1:1")
    assert with_shared_group(options, 1) is options
    assert with_shared_group(options, 2).shared_group == "nestpy"
    named = MqttOptions(url="mqtt://127.0.0.1:1", shared_group="mine")
    assert with_shared_group(named, 3).shared_group == "mine"
    with pytest.raises(ValueError, match="at least 1"):
        with_shared_group(options, 0)
    with pytest.raises(ValueError, match="shared subscription group 'a/b'"):
        with_shared_group(options, 2, group="a/b")
    with pytest.raises(ValueError, match="shared subscriptions"):
        with_shared_group(object(), 2)
    with pytest.raises(ValueError, match="at least 1"):
        WorkerPool(0)


async def test_two_workers_share_the_requests_and_stop_together(
    mqtt_broker: MosquittoBroker, tmp_path: Path
) -> None:
    script = tmp_path / "who_service.py"
    script.write_text(SERVICE)
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        mqtt_broker.url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    client = ClientMqtt(MqttOptions(url=mqtt_broker.url, request_timeout=5))
    try:
        assert parent.stdout is not None
        ready = (await asyncio.wait_for(parent.stdout.readline(), 30)).decode()
        assert ready.startswith("ready"), ready
        [worker_pid] = [int(pid) for pid in ready.split()[1:]]
        seen: set[int] = set()
        deadline = time.monotonic() + 20
        while seen != {0, 1}:  # worker 1 subscribes a moment later
            assert time.monotonic() < deadline, f"only worker(s) {seen} answered"
            seen.add(await client.send("who", {}))
        parent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(parent.wait(), 20) == 0
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)  # stopped with worker 0 (and reaped by it)
    finally:
        await client.close()
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
