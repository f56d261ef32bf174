"""Two processes with one client id (Nest issue #8804): the broker keeps disconnecting one for
the other; nestpy reports it clearly instead of looping silently."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from test_graceful_shutdown import PartnerController, ServiceProcess
from transport_support import Harness, eventually, make_module

from nestpy_mqtt.errors import MqttClientIdConflictError
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt


async def test_a_second_process_with_the_same_client_id_is_reported(
    private_broker: MosquittoBroker,
) -> None:
    peers = Harness(private_broker.url)
    service = await ServiceProcess.start(peers.url, drain_timeout=1)  # client id "shutdown-svc"
    try:
        app = await peers.app(
            make_module([PartnerController]), listen=False, client_id="shutdown-svc"
        )
        errors: list[BaseException] = []
        app.on("error", errors.append)
        started = time.monotonic()
        await app.listen()
        await eventually(lambda: bool(errors), timeout=15)
        detected = time.monotonic() - started
        error = errors[0]
        assert isinstance(error, MqttClientIdConflictError)
        assert "'shutdown-svc'" in str(error)
        assert "same client id" in str(error)
        print(f"\nclient id collision between two processes reported after {detected:.2f} s")
    finally:
        await peers.close()
        service.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(service.finish(), 20)
