"""Each sample runs end to end as a user runs it (``python -m samples.<name>``), in subprocesses,
against a private Mosquitto given through ``NESTPY_MQTT_URL``; the output is what is asserted."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError, free_port

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.mqtt


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    try:
        private = MosquittoBroker()
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))
    with private:
        yield private


def sample_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NESTPY_")}
    return {**env, "NESTPY_MQTT_URL": url, "PYTHONUNBUFFERED": "1", **extra}


def run_sample(module: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def test_math_client_calls_every_feature_of_the_service_over_mqtt5(broker):
    env = sample_env(broker.url, NESTPY_MQTT_PROTOCOL_VERSION="5")
    service = subprocess.Popen(
        [sys.executable, "-m", "samples.math_service"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = run_sample("samples.math_client", env)
        service.send_signal(signal.SIGTERM)
        _, service_log = service.communicate(timeout=20)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    out = client.stdout
    assert client.returncode == 0, client.stdout + client.stderr
    assert f"math client: broker {broker.url}, MQTT 5\n" in out
    for line in (
        r"ok\s+sum \[1, 2, 3\]\s+-> 6$",
        r"ok\s+count_up 5, async for \(stream\)\s+-> \[0, 1, 2, 3, 4\]$",
        r"ok\s+sum \[\] -> RpcException\(str\)\s+-> "
        r"\{'status': 'error', 'message': 'Nothing to add'\}$",
        r"ok\s+divide 'ten' -> validation error, fields\s+-> \['dividend', 'divisor'\]$",
        r"ok\s+sensors/kitchen/temperature/f .*'qos': 1, 'user_properties': \{'x-client': "
        r"'math-client', 'x-firmware': '1.4.2'\}\}$",
        r"ok\s+replace-emoji .*-> \{'text': '🐱', 'x_version': '1.0.0'\}$",
        r"ok\s+emit user_created, then users\s+-> \['Ada'\]$",
        r"ok\s+client status stream\s+-> connected -> closed$",
    ):
        assert re.search(line, out, re.MULTILINE), f"{line!r} not in:\n{out}"
    assert out.rstrip().endswith("math client: all 15 checks passed")
    assert service.returncode == 0, service_log
    assert "Math service stopped (SIGTERM); 1 user(s) seen" in service_log
    assert "Traceback" not in service_log


def test_math_client_without_a_service_says_so_and_fails(broker):
    client = run_sample("samples.math_client", sample_env(broker.url), "--wait", "1")
    assert client.returncode == 2
    assert f"the math service did not answer on {broker.url} within 1 s" in client.stderr
    assert "python -m samples.math_service" in client.stderr


def test_sensor_fleet_shares_the_readings_between_instances(broker):
    result = run_sample("samples.sensor_fleet", sample_env(broker.url), "--instances", "3")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert f"sensor fleet: broker: the broker at {broker.url} (it answers)" in out
    assert "3 instances subscribed to $share/fleet/sensors/+/temperature/+" in out
    handled = re.findall(r"^  (fleet-\d) +<- (sensors/s\d\d/temperature/[cfk]) +#(\d+)", out, re.M)
    assert sorted(int(seq) for _, _, seq in handled) == list(range(1, 21))
    assert len({name for name, _, _ in handled}) >= 2  # the broker spread the work
    assert re.search(r"every reading handled exactly once \(20/20\), shared by [23] of 3", out)


@pytest.mark.interop
def test_hybrid_nest_client_calls_the_nestpy_service(broker):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the hybrid sample")
    result = run_sample("samples.hybrid_nest", sample_env(broker.url))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "nestpy math service listening on" in out
    assert "ok   nest client send('sum', [1, 2, 3])\n       => [6]\n" in out
    assert '"user_properties": {"x-origin": "nestjs"}' in out
    assert "FAIL" not in out
    assert out.rstrip().endswith("the NestJS client got every answer right from the nestpy service")


def test_hybrid_nest_skips_without_node(broker):
    env = sample_env(broker.url, PATH=str(Path(sys.executable).parent))
    result = run_sample("samples.hybrid_nest", env)
    assert result.returncode == 0
    assert result.stdout.startswith("hybrid: skipped: node and npm not installed")


def demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_sample("samples.demo", env)


def assert_demo_ok(result: subprocess.CompletedProcess[str]) -> None:
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "demo: starting the math service: python -m samples.math_service" in out
    assert "  service | " in out  # the service's log lines are relayed
    assert "math client: all 15 checks passed" in out
    assert "demo: stopping the math service with SIGTERM" in out
    assert re.search(r"  math client   every check passed \(exit 0, [\d.]+ s\)", out)
    assert "  math service  stopped cleanly on SIGTERM (exit 0)" in out
    assert out.rstrip().endswith("demo: OK")


def test_demo_uses_the_broker_at_nestpy_mqtt_url(broker):
    result = demo(sample_env(broker.url))
    assert f"demo: broker: the broker at {broker.url} (it answers)\n" in result.stdout
    assert_demo_ok(result)


def test_demo_starts_a_private_mosquitto_when_nothing_answers(broker):
    nowhere = f"mqtt://127.0.0.1:{free_port()}"
    result = demo(sample_env(nowhere))
    assert re.search(
        rf"demo: broker: nothing answers at {nowhere}: a private Mosquitto \(\S+\) at "
        r"mqtt://127\.0\.0\.1:\d+\n",
        result.stdout,
    )
    assert_demo_ok(result)


@pytest.mark.timeout(300)  # the first run installs amqtt from PyPI into .venv/amqtt
def test_scripts_demo_on_the_embedded_amqtt_broker(broker):
    env = sample_env(broker.url, NESTPY_DEMO_BROKER="amqtt")
    result = subprocess.run(
        ["bash", "scripts/demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert re.search(
        r"demo: broker: NESTPY_DEMO_BROKER=amqtt: an embedded amqtt broker \(pure Python\) at "
        r"mqtt://127\.0\.0\.1:\d+\n",
        result.stdout,
    ), result.stdout + result.stderr
    assert_demo_ok(result)


def test_demo_reports_a_bad_broker_choice():
    result = demo(sample_env("mqtt://127.0.0.1:1", NESTPY_DEMO_BROKER="nope"))
    assert result.returncode == 2
    assert (
        "demo: error: no MQTT broker: NESTPY_DEMO_BROKER='nope': expected one of" in result.stdout
    )


def test_hybrid_fastapi_serves_http_and_mqtt_from_one_process(broker):
    result = run_sample("samples.hybrid_fastapi", sample_env(broker.url), "--tour")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "GET  /ops/readyz          -> ok ['mqtt']" in out
    assert "MQTT visits/count home    -> 2" in out
    assert "GET  /visits/home         -> {'home': 2}" in out
    assert out.rstrip().endswith("hybrid: HTTP and MQTT share one VisitCounter")
