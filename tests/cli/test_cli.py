"""The ``nestpy`` command: help, graph, run (SIGTERM) and new (the generated test passes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nestpy.cli import main
from tests.cli.cli_support import NEST_LINE, NESTPY, REPO, clean_env, read_until, start, stop


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "nestpy: NestJS's module system and MQTT microservices, in Python."),
        (["run"], "NESTPY_MQTT_* environment variables"),
        (["graph"], "each handler with its pattern (the MQTT\ntopic) and QoS"),
        (["new"], "a test that runs\nthe controller over the in-memory transport"),
    ],
)
def test_every_command_has_help(argv, expected, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert expected in capsys.readouterr().out


def test_graph_prints_modules_providers_exports_controllers_and_topics(capsys) -> None:
    assert main(["graph", "tests.cli.graph_app:AppModule"]) == 0
    assert capsys.readouterr().out == (
        "AppModule\n"
        "  imports: ConfigModule, ClientsModule, StoreModule\n"
        "  providers: PerMessage [request], RETRIES (value)\n"
        "  exports: StoreModule\n"
        "  controllers:\n"
        "    SensorController\n"
        '      MessagePattern \'{"cmd":"sum","v":1}\' -> sum() (QoS 2)\n'
        "      EventPattern '$share/fleet/sensors/+/temperature' -> reading() (QoS 1, MQTT only)\n"
        "ConfigModule [global, dynamic]\n"
        "  providers: Settings (factory), ConfigService (factory)\n"
        "  exports: Settings, ConfigService\n"
        "ClientsModule [dynamic]\n"
        "  providers: FLEET (factory)\n"
        "  exports: FLEET\n"
        "StoreModule\n"
        "  providers: Store, STORE (alias of Store)\n"
        "  exports: Store, STORE\n"
    )


def test_graph_json_and_the_default_attribute(capsys) -> None:
    assert main(["graph", "tests.cli.graph_app", "--json"]) == 0
    modules = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in modules] == [
        "AppModule",
        "ConfigModule",
        "ClientsModule",
        "StoreModule",
    ]
    assert modules[0]["controllers"][0]["handlers"][1] == {
        "kind": "EventPattern",
        "pattern": "$share/fleet/sensors/+/temperature",
        "method": "reading",
        "qos": 1,
        "transport": "MQTT",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["graph", "tests.cli.nowhere:AppModule"], "Cannot import 'tests.cli.nowhere'"),
        (["graph", "tests.cli.graph_app:Nope"], "'tests.cli.graph_app' has no attribute 'Nope'"),
        (["graph", "tests.cli.graph_app:Store"], "is not a module: decorate it with @Module"),
        (["new", "9lives"], "Invalid project name '9lives'"),
    ],
)
def test_usage_errors_exit_2_with_one_message(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nestpy {argv[0]}: error: ")
    assert message in err


async def test_run_in_memory_logs_nest_lines_and_stops_cleanly_on_sigterm() -> None:
    process = await start("run", "tests.testing.apps:MqttAppModule", "--transport", "in-memory")
    lines = await read_until(process, "Nest microservice successfully started")
    code, rest = await stop(process)
    assert code == 0
    assert "Received SIGTERM, shutting down" in rest
    assert "Nest microservice stopped" in rest
    assert all(NEST_LINE.match(line) for line in [*lines, *rest.splitlines()])
    assert (
        "[nestpy.microservices] Nest microservice successfully started (3 handler(s)" in (lines[-1])
    )


@pytest.mark.mqtt
async def test_run_serves_over_mqtt_until_sigterm(mosquitto_broker) -> None:
    from nestpy_mqtt import ClientMqtt, MqttOptions

    process = await start("run", "tests.testing.apps:MqttAppModule", "--url", mosquitto_broker.url)
    lines = await read_until(process, "Nest microservice successfully started")
    assert any("LOG [nestpy.mqtt.server] Mapped {count} (QoS 1)" in line for line in lines)
    client = ClientMqtt(MqttOptions(url=mosquitto_broker.url))
    try:
        assert await client.send("sum", [40, 2], timeout=10) == 42
    finally:
        await client.close()
    code, rest = await stop(process)
    assert code == 0, rest
    assert "Received SIGTERM, shutting down" in rest


def test_run_rejects_invalid_mqtt_options() -> None:
    out = subprocess.run(
        [*NESTPY, "run", "tests.testing.apps:MqttAppModule", "--url", "http://x"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("nestpy run: error: invalid MQTT setting url (--url): ")
    assert "unsupported URL scheme 'http'" in out.stderr
    assert "Traceback" not in out.stderr


def test_new_scaffolds_a_project_whose_test_passes(tmp_path: Path) -> None:
    created = subprocess.run(
        [*NESTPY, "new", "demo-svc", "--directory", str(tmp_path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    root = tmp_path / "demo-svc"
    assert f"Created {root}" in created.stdout
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        "README.md",
        "demo_svc/__init__.py",
        "demo_svc/app_controller.py",
        "demo_svc/app_module.py",
        "demo_svc/app_service.py",
        "demo_svc/main.py",
        "pyproject.toml",
        "tests/test_app_controller.py",
    ]
    assert "nestpy run demo_svc.app_module:AppModule" in (root / "README.md").read_text()
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout
    graph = subprocess.run(
        [*NESTPY, "graph", "demo_svc.app_module:AppModule", "--app-dir", str(root)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert graph.stdout.splitlines()[:2] == ["AppModule", "  providers: AppService"]
    again = subprocess.run(
        [*NESTPY, "new", "demo-svc", "--directory", str(tmp_path)],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2
    assert "already exists and is not empty" in again.stderr


def test_run_reports_a_bootstrap_error_in_one_message() -> None:
    out = subprocess.run(
        [*NESTPY, "run", "tests.cli.graph_app:BrokenModule", "--transport", "in-memory"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "nestpy run: UnknownDependenciesError: Nest can't resolve dependencies of the " in (
        out.stderr
    )
    assert "Traceback" not in out.stderr


def test_the_library_is_quiet_unless_the_application_configures_logging() -> None:
    code = (
        "import asyncio\n"
        "from nestpy.testing import Test\n"
        "from tests.testing.apps import MqttAppModule\n"
        "async def main():\n"
        "    mod = await Test.create_testing_module(imports=[MqttAppModule])"
        ".use_in_memory_transport().compile()\n"
        "    async with await mod.create_microservice():\n"
        "        assert await mod.get('MATH_SERVICE').send('sum', [1]) == 1\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert (out.stdout, out.stderr) == ("", "")
