"""The pytest plugin, as loaded from the ``pytest11`` entry point in this very session."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nestpy.microservices import NestMicroservice, Transport
from nestpy.testing import InMemoryBroker, InMemoryClient, TestingModule
from nestpy.testing.pytest_plugin import TestingModuleFactory
from tests.testing.apps import Calculator, MathFacade, MqttAppModule

REPO = Path(__file__).resolve().parents[2]


async def test_in_memory_microservice_serves_a_module(
    in_memory_microservice, in_memory_broker: InMemoryBroker
) -> None:
    app, client = await in_memory_microservice(MqttAppModule)
    assert isinstance(app, NestMicroservice)
    assert isinstance(client, InMemoryClient)
    assert await client.send("sum", [1, 2]) == 3
    # the module's own MQTT client was swapped onto the same broker
    assert await app.get(MathFacade).total([5, 5]) == 10
    requests = [payload for topic, payload in in_memory_broker.published if topic == "sum"]
    assert requests[0].startswith(b'{"pattern":"sum","data":[1,2],"id":"')


async def test_in_memory_microservice_takes_a_builder_with_overrides(
    in_memory_microservice, create_testing_module: TestingModuleFactory
) -> None:
    class Doubling(Calculator):
        def add(self, numbers: list[int]) -> int:
            return 2 * sum(numbers)

    builder = create_testing_module(imports=[MqttAppModule]).override_provider(Calculator)
    _app, client = await in_memory_microservice(builder.use_class(Doubling))
    assert await client.send("sum", [1, 2]) == 6


async def test_create_testing_module_compiles_like_test(
    create_testing_module: TestingModuleFactory,
) -> None:
    module = await (
        create_testing_module(imports=[MqttAppModule])
        .override_provider("MATH_SERVICE")
        .use_value("fake")
        .compile()
    )
    assert isinstance(module, TestingModule)
    assert module.get(MathFacade).client == "fake"
    assert create_testing_module.modules == [module]


@pytest.mark.mqtt
async def test_mosquitto_broker_serves_an_integration_test(
    mosquitto_broker, create_testing_module: TestingModuleFactory
) -> None:
    from nestpy_mqtt import ClientMqtt, MqttOptions

    module = await create_testing_module(imports=[MqttAppModule]).compile()
    options = MqttOptions(url=mosquitto_broker.url)
    await module.create_microservice(transport=Transport.MQTT, options=options)
    client = ClientMqtt(options)
    try:
        assert await client.send("sum", [20, 22], timeout=5) == 42
    finally:
        await client.close()


def test_the_plugin_loads_neither_paho_nor_the_mqtt_transport() -> None:
    code = (
        "import sys, nestpy.testing.pytest_plugin\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('paho', 'nestpy_mqtt')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


USER_CONFTEST = """
import nestpy_mqtt.testing.broker as broker_module


def _no_mosquitto():
    raise broker_module.MosquittoNotFoundError("The mosquitto broker binary was not found")


broker_module.find_mosquitto = _no_mosquitto
"""

USER_TESTS = """
import pytest

from nestpy import Controller, Module
from nestpy.microservices import MessagePattern


@Controller()
class EchoController:
    @MessagePattern("echo")
    def echo(self, data):
        return data


class Probe:
    def on_application_shutdown(self, signal=None):
        with open("shutdown.log", "a") as log:
            log.write("closed\\n")


@Module(controllers=[EchoController])
class AppModule: ...


@pytest.mark.asyncio
async def test_pair(in_memory_microservice):
    app, client = await in_memory_microservice(AppModule)
    assert await client.send("echo", {"a": 1}) == {"a": 1}


@pytest.mark.asyncio
async def test_module_is_closed_after_the_test(create_testing_module):
    from nestpy import Provider

    await create_testing_module(providers=[Provider(Probe, use_value=Probe())]).compile()


def test_broker(mosquitto_broker):
    raise AssertionError("must be skipped")
"""


def test_a_user_project_gets_the_fixtures_in_strict_asyncio_mode(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(USER_CONFTEST)
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "PASSED test_user.py::test_pair" in out.stdout, out.stdout
    assert "PASSED test_user.py::test_module_is_closed_after_the_test" in out.stdout
    skipped = r"SKIPPED \[1\] test_user.py:\d+: mosquitto_broker: The mosquitto broker binary"
    assert re.search(skipped, out.stdout), out.stdout
    assert out.returncode == 0
    assert (tmp_path / "shutdown.log").read_text() == "closed\n"
