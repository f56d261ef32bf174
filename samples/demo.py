"""The README's demo: a math service and a math client over a real MQTT broker.

``bash scripts/demo`` (which installs what is missing, then runs ``python -m samples.demo``):

1. picks a broker (``samples.brokers.pick_broker``: ``NESTPY_MQTT_URL`` if it answers, else a
   private Mosquitto, else an embedded amqtt broker) and says which;
2. starts ``python -m samples.math_service`` against it, in a subprocess;
3. runs ``python -m samples.math_client``, which calls every feature of the service;
4. stops the service with SIGTERM and checks that it shut down cleanly;
5. prints a summary, and exits with 0 when everything worked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO

from samples.brokers import NoBrokerError, pick_broker

SERVICE = [sys.executable, "-m", "samples.math_service"]
CLIENT = [sys.executable, "-m", "samples.math_client"]


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def _relay(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        print(f"  service | {line}", end="", flush=True)


def run_demo() -> int:
    """Run the demo; return the exit status."""
    try:
        with pick_broker() as broker:
            say(f"broker: {broker.description}")
            env = {**os.environ, "NESTPY_MQTT_URL": broker.url, "PYTHONUNBUFFERED": "1"}
            if not broker.mqtt5 and env.get("NESTPY_MQTT_PROTOCOL_VERSION", "4") != "4":
                say("amqtt speaks MQTT 3.1.1 only: using MQTT 3.1.1")
                env["NESTPY_MQTT_PROTOCOL_VERSION"] = "4"
            return run_service_and_client(broker.description, env)
    except NoBrokerError as exc:
        say(f"error: no MQTT broker: {exc}")
        return 2


def run_service_and_client(broker: str, env: dict[str, str]) -> int:
    """Start the service, run the client, stop the service; print the summary."""
    say("starting the math service: python -m samples.math_service")
    service = subprocess.Popen(
        SERVICE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert service.stderr is not None
    logs: list[str] = []
    relay = threading.Thread(target=_relay, args=(service.stderr, logs), daemon=True)
    relay.start()
    try:
        say("running the math client: python -m samples.math_client")
        started = time.monotonic()
        client = subprocess.run(CLIENT, env=env, check=False)
        client_time = time.monotonic() - started
        if service.poll() is not None:
            say(f"error: the math service exited early (exit code {service.returncode})")
            return 1
        say("stopping the math service with SIGTERM")
        service.send_signal(signal.SIGTERM)
        try:
            service_code: int | None = service.wait(15)
        except subprocess.TimeoutExpired:
            service_code = None
        relay.join(5)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    clean = service_code == 0 and any("Math service stopped (SIGTERM)" in line for line in logs)
    ok = client.returncode == 0 and clean
    say("summary")
    print(f"  broker        {broker}")
    print(f"  MQTT          {'5' if env.get('NESTPY_MQTT_PROTOCOL_VERSION') == '5' else '3.1.1'}")
    client_result = "every check passed" if client.returncode == 0 else "FAILED"
    print(f"  math client   {client_result} (exit {client.returncode}, {client_time:.1f} s)")
    stopped = "stopped cleanly on SIGTERM" if clean else "did NOT stop cleanly on SIGTERM"
    print(f"  math service  {stopped} (exit {service_code})")
    say("OK" if ok else "FAILED")
    return 0 if ok else 1


def main() -> None:
    """Entry point of ``python -m samples.demo``."""
    sys.exit(run_demo())


if __name__ == "__main__":
    main()
