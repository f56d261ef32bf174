"""``nestpy run --health-port``: a real process, real HTTP probes, a clear line for a taken port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nestpy_mqtt.testing import MosquittoBroker, free_port

pytestmark = pytest.mark.mqtt
HERE = Path(__file__).parent


def nestpy_run(broker: MosquittoBroker, *flags: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NESTPY_")}
    env["NESTPY_MQTT_URL"] = broker.url
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nestpy.cli",
            "run",
            "ops_app:AppModule",
            "--app-dir",
            str(HERE),
            *flags,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def get_until(url: str, status: int, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == status:
                return response
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        time.sleep(0.1)


def test_run_serves_the_probes_and_stops_cleanly_on_sigterm(mqtt_broker):
    port = free_port()
    service = nestpy_run(mqtt_broker, "--health-port", str(port), "--health-host", "127.0.0.1")
    try:
        ready = get_until(f"http://127.0.0.1:{port}/readyz", 200)
        assert ready.json()["info"]["mqtt"]["status"] == "up"
        assert ready.json()["info"]["database"]["status"] == "up"
        assert httpx.get(f"http://127.0.0.1:{port}/livez").json() == {"status": "ok"}
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert service.returncode == 0, err
    assert f"Health probes on http://127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_run_with_a_taken_health_port_fails_with_one_line(mqtt_broker):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        service = nestpy_run(mqtt_broker, "--health-port", str(port), "--health-host", "127.0.0.1")
        _, err = service.communicate(timeout=30)
    finally:
        taken.close()
    assert service.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last == (
        f"nestpy run: HealthPortInUseError: Health port {port} on 127.0.0.1 is already in use: "
        "choose another health_port (--health-port) or stop the process listening there"
    )
    assert "Traceback" not in err
