"""``nestpy --version``, ``send``/``emit``, ``run --url`` for the app's clients, ``--workers``,
``--reload``, settings errors and closed pipes: each through a subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from nestpy import __version__
from tests.cli.cli_support import (
    NESTPY,
    REPO,
    alive,
    clean_env,
    nestpy,
    pids,
    read_until,
    start,
    stop,
)

STARTED = "Nest microservice successfully started"


def test_version_is_the_installed_distributions() -> None:
    out = nestpy("--version")
    assert out.returncode == 0
    assert out.stdout == f"nestpy {version('nestpy-mqtt')}\n"
    assert __version__ == version("nestpy-mqtt")


def test_an_invalid_env_variable_is_one_line_that_names_it() -> None:
    out = nestpy("run", "tests.cli.relay_app:AppModule", env=clean_env(NESTPY_MQTT_KEEPALIVE="abc"))
    assert out.returncode == 2
    assert out.stderr == (
        "nestpy run: error: invalid MQTT setting keepalive (env NESTPY_MQTT_KEEPALIVE): "
        "Input should be a valid integer, unable to parse string as an integer\n"
    )


def test_an_invalid_env_variable_is_reported_with_the_in_memory_transport_too() -> None:
    # The application's MQTT clients read NESTPY_MQTT_* whatever the server's transport.
    out = nestpy(
        "run",
        "tests.cli.relay_app:AppModule",
        "--transport",
        "in-memory",
        env=clean_env(NESTPY_MQTT_PROTOCOL_VERSION="7"),
    )
    assert out.returncode == 2
    assert out.stderr.startswith(
        "nestpy run: error: invalid MQTT setting protocol_version "
        "(env NESTPY_MQTT_PROTOCOL_VERSION): Value error, protocol_version must be 4"
    )
    assert "Traceback" not in out.stderr


def test_every_invalid_setting_is_named_by_its_flag_or_env_variable() -> None:
    out = nestpy(
        "run",
        "tests.cli.relay_app:AppModule",
        "--url",
        "http://broker",
        env=clean_env(NESTPY_MQTT_KEEPALIVE="abc", NESTPY_MQTT_PASSWORD="s3cret"),
    )
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert lines[0] == "nestpy run: error: invalid MQTT settings (2 errors):"
    assert lines[1].startswith("  url (--url): Value error, unsupported URL scheme 'http'")
    assert lines[2].startswith("  keepalive (env NESTPY_MQTT_KEEPALIVE): Input should be")
    assert len(lines) == 3


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    # `nestpy graph ... --json | head -0`: the reader is gone before anything is written.
    process = subprocess.Popen(
        [*NESTPY, "graph", "tests.cli.graph_app:AppModule", "--json"],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert err.decode() == ""
    assert process.returncode == 1


def test_workers_and_connection_flags_need_the_mqtt_transport() -> None:
    app = "tests.cli.relay_app:AppModule"
    out = nestpy("run", app, "--transport", "in-memory", "--workers", "2")
    assert out.returncode == 2
    assert "--workers needs the mqtt transport" in out.stderr
    out = nestpy("run", app, "--transport", "in-memory", "--url", "mqtt://127.0.0.1:9")
    assert out.returncode == 2
    assert "apply to the mqtt transport only" in out.stderr
    out = nestpy("run", app, "--workers", "0")
    assert out.returncode == 2
    assert "argument --workers: must be at least 1, got 0" in out.stderr


def test_send_and_emit_usage_errors() -> None:
    out = nestpy("send", "cli/add", "[1,")
    assert out.returncode == 2
    assert out.stderr.startswith("nestpy send: error: DATA must be JSON")
    out = nestpy("emit", "{cmd", "1")
    assert out.returncode == 2
    assert "PATTERN looks like a JSON object but is not valid JSON" in out.stderr


async def call(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(nestpy, *args)


@pytest.mark.mqtt
async def test_run_url_also_points_the_apps_clients_at_the_broker(mosquitto_broker) -> None:
    # RELAY is registered without a URL: before, it went to localhost:1883 and the call timed out.
    url = mosquitto_broker.url
    process = await start("run", "tests.cli.relay_app:AppModule", "--url", url)
    try:
        await read_until(process, STARTED)
        out = await call("send", "cli/relay", "[1, 2, 39]", "--url", url, "--timeout", "20")
        assert (out.returncode, out.stdout, out.stderr) == (0, "42\n", "")
    finally:
        code, rest = await stop(process)
    assert code == 0, rest


@pytest.mark.mqtt
async def test_every_connection_flag_applies_to_the_clients_without_their_own_url(
    mosquitto_broker,
) -> None:
    url = mosquitto_broker.url
    flags = ["--url", url, "--protocol-version", "5", "--username", "svc"]
    process = await start("run", "tests.cli.relay_app:AppModule", *flags)
    try:
        await read_until(process, STARTED)
        out = await call("send", "cli/clients", "0", "--url", url)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {
            "RELAY": {"url": url, "protocol_version": 5, "username": "svc"},
            "FIXED": {"url": "mqtt://fixed:1883", "protocol_version": 5, "username": "svc"},
        }
    finally:
        code, rest = await stop(process)
    assert code == 0, rest


@pytest.mark.mqtt
async def test_send_prints_the_reply_and_emit_publishes(mosquitto_broker) -> None:
    url = mosquitto_broker.url
    process = await start("run", "tests.cli.relay_app:AppModule", "--url", url)
    try:
        await read_until(process, STARTED)
        out = await call("send", "cli/add", "[1, 2]", "--url", url, "--timeout", "20")
        assert (out.returncode, out.stdout) == (0, "3\n")
        out = await call("send", '{"cmd": "cli-sum"}', "[4, 5]", "--url", url, "--qos", "1")
        assert (out.returncode, out.stdout) == (0, "9\n")
        out = await call("send", "cli/count", "3", "--url", url)
        assert (out.returncode, out.stdout) == (0, "0\n1\n2\n")
        out = await call("send", "cli/fail", "0", "--url", url)
        assert out.returncode == 1
        assert out.stdout == ""
        assert json.loads(out.stderr.removeprefix("nestpy send: error reply: ")) == {
            "code": 7,
            "why": "asked to",
        }
        out = await call("send", "cli/nobody", "1", "--url", url, "--timeout", "0.5")
        assert out.returncode == 1
        assert out.stderr.startswith("nestpy send: RequestTimeoutError: No reply to 'cli/nobody'")
        out = await call("emit", "cli/noted", '{"id": "é"}', "--url", url, "--qos", "1")
        assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
        out = await call("send", "cli/notes", "0", "--url", url)
        assert out.stdout == '[{"id": "é"}]\n'
    finally:
        code, rest = await stop(process)
    assert code == 0, rest


@pytest.mark.mqtt
async def test_run_workers_serves_in_n_processes_of_one_shared_group(mosquitto_broker) -> None:
    url = mosquitto_broker.url
    process = await start("run", "tests.cli.relay_app:AppModule", "--url", url, "--workers", "2")
    try:
        lines = await read_until(process, STARTED, count=2)
        started = pids(lines, STARTED)
        assert len(started) == 2
        assert process.pid in started
        assert any("Mapped {$share/nestpy/cli/add}" in line for line in lines)
        out = await call("send", "cli/relay", "[2, 3]", "--url", url, "--timeout", "20")
        assert out.stdout == "5\n"
    finally:
        code, rest = await stop(process)
    assert code == 0, rest
    (worker,) = started - {process.pid}
    assert not alive(worker)


RELOAD_APP = """
from nestpy import Controller, Module
from nestpy.microservices import MessagePattern


@Controller()
class EchoController:
    @MessagePattern("echo")
    def echo(self, data: object) -> object:
        return data
{extra}

@Module(controllers=[EchoController])
class AppModule: ...
"""

EXTRA_HANDLER = """
    @MessagePattern("echo/again")
    def again(self, data: object) -> object:
        return data
"""


async def test_run_reload_restarts_the_service_when_a_source_file_changes(tmp_path: Path):
    source = tmp_path / "reload_app.py"
    source.write_text(RELOAD_APP.format(extra=""))
    process = await start(
        "run",
        "reload_app:AppModule",
        "--app-dir",
        str(tmp_path),
        "--transport",
        "in-memory",
        "--reload",
    )
    try:
        lines = await read_until(process, f"{STARTED} (1 handler(s)")
        first = pids(lines, STARTED)
        source.write_text(RELOAD_APP.format(extra=EXTRA_HANDLER))
        lines = await read_until(process, f"{STARTED} (2 handler(s)")
        assert any("Detected changes in reload_app.py: restarting" in line for line in lines)
        assert any("Nest microservice stopped" in line for line in lines)
        second = pids(lines, STARTED)
    finally:
        code, rest = await stop(process)
    assert code == 0, rest
    assert "Received SIGTERM, stopping the service" in rest
    assert len(first | second) == 2
    assert process.pid not in first | second
    assert not any(alive(pid) for pid in first | second)
