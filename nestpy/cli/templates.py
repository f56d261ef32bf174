"""The files ``nestpy new`` writes; ``$name`` is the project, ``$package`` its package."""

from __future__ import annotations

FILES: dict[str, str] = {
    "README.md": """\
# $name

A nestpy microservice. `$package/app_module.py` wires `AppController` (the `sum` message
pattern) to `AppService`; `tests/` runs the controller over the in-memory transport.

## Set up

    python -m venv .venv && . .venv/bin/activate
    pip install -e '.[dev]'

## Test (no broker needed)

    pytest

## Run

    nestpy run $package.app_module:AppModule --url mqtt://localhost:1883

or `python -m $package.main`. Broker settings come from `NESTPY_MQTT_*` variables
(`NESTPY_MQTT_URL`, `NESTPY_MQTT_USERNAME`, ...). Stop it with Ctrl+C or SIGTERM.

## Look at the module graph

    nestpy graph $package.app_module:AppModule
""",
    "pyproject.toml": """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$name"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["nestpy-mqtt"]

[project.optional-dependencies]
dev = ["pytest>=8", "pytest-asyncio>=0.24"]

[tool.setuptools.packages.find]
include = ["$package*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
""",
    "$package/__init__.py": '''\
"""$name."""
''',
    "$package/app_service.py": """\
from nestpy import Injectable


@Injectable()
class AppService:
    def sum(self, numbers: list[int]) -> int:
        return sum(numbers)
""",
    "$package/app_controller.py": """\
from nestpy import Controller
from nestpy.microservices import MessagePattern, RpcException

from $package.app_service import AppService


@Controller()
class AppController:
    def __init__(self, service: AppService) -> None:
        self.service = service

    @MessagePattern("sum")
    def sum(self, numbers: list[int]) -> int:
        if not numbers:
            raise RpcException("Nothing to add")
        return self.service.sum(numbers)
""",
    "$package/app_module.py": """\
from nestpy import Module

from $package.app_controller import AppController
from $package.app_service import AppService


@Module(controllers=[AppController], providers=[AppService])
class AppModule: ...
""",
    "$package/main.py": """\
import asyncio
import logging

from nestpy.microservices import Transport, create_microservice
from nestpy_mqtt import MqttOptions

from $package.app_module import AppModule


async def main() -> None:
    app = await create_microservice(AppModule, transport=Transport.MQTT, options=MqttOptions())
    await app.run()  # serves until SIGTERM or SIGINT


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
""",
    "tests/test_app_controller.py": """\
import pytest
from nestpy.microservices import RpcException

from $package.app_controller import AppController
from $package.app_module import AppModule
from $package.app_service import AppService


async def test_sum_over_the_in_memory_transport(in_memory_microservice):
    app, client = await in_memory_microservice(AppModule)
    assert await client.send("sum", [1, 2, 3]) == 6


async def test_an_empty_list_is_an_rpc_error(in_memory_microservice):
    app, client = await in_memory_microservice(AppModule)
    with pytest.raises(RpcException, match="Nothing to add"):
        await client.send("sum", [])


async def test_the_controller_with_a_fake_service(create_testing_module):
    class FakeService:
        def sum(self, numbers: list[int]) -> int:
            return 42

    module = await (
        create_testing_module(imports=[AppModule])
        .override_provider(AppService)
        .use_value(FakeService())
        .compile()
    )
    assert module.get(AppController).sum([1]) == 42
""",
}
