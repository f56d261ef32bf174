"""Find an MQTT broker for the samples: the configured one, a private Mosquitto, or amqtt.

``pick_broker()`` is a context manager yielding a ``BrokerChoice``. In order:

1. the broker at ``NESTPY_MQTT_URL`` (default ``mqtt://localhost:1883``) if its port accepts a
   TCP connection within half a second;
2. else a private Mosquitto on a free loopback port, if the ``mosquitto`` binary is installed;
3. else (when ``allow_amqtt``) an embedded pure-Python broker, amqtt (MQTT 3.1.1 only), run
   from its own virtualenv ``.venv/amqtt`` that ``scripts/demo`` creates on demand.

``NESTPY_DEMO_BROKER=mosquitto`` or ``=amqtt`` skips the earlier choices (to try the fallbacks on
a machine that has a broker); ``=url`` insists on the configured one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nestpy_mqtt import MqttOptions
from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError, find_mosquitto, free_port

REPO = Path(__file__).resolve().parent.parent
AMQTT_PYTHON = REPO / ".venv" / "amqtt" / "bin" / "python"
CHOICES = ("auto", "url", "mosquitto", "amqtt")


class NoBrokerError(RuntimeError):
    """No broker answers, none can be started here."""


@dataclass(frozen=True)
class BrokerChoice:
    """The broker a sample runs against: ``kind`` is ``url``, ``mosquitto`` or ``amqtt``."""

    kind: str
    url: str
    description: str

    @property
    def mqtt5(self) -> bool:
        """Whether the broker speaks MQTT 5 (amqtt does not)."""
        return self.kind != "amqtt"


def configured_url() -> str:
    """``NESTPY_MQTT_URL`` as ``MqttOptions`` reads it (credentials moved out of the URL)."""
    return MqttOptions().url


def answers(url: str, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    options = MqttOptions(url=url)
    try:
        with socket.create_connection((options.host, options.port), timeout=timeout):
            return True
    except OSError:
        return False


def requested() -> str:
    """``NESTPY_DEMO_BROKER`` (``auto`` when unset)."""
    value = os.environ.get("NESTPY_DEMO_BROKER", "auto").strip().lower() or "auto"
    if value not in CHOICES:
        msg = f"NESTPY_DEMO_BROKER={value!r}: expected one of {', '.join(CHOICES)}"
        raise NoBrokerError(msg)
    return value


def mosquitto_binary() -> str | None:
    """The ``mosquitto`` path, or None."""
    try:
        return find_mosquitto()
    except MosquittoNotFoundError:
        return None


def amqtt_installed() -> bool:
    """Whether ``.venv/amqtt`` has amqtt."""
    if not AMQTT_PYTHON.exists():
        return False
    check = subprocess.run(
        [str(AMQTT_PYTHON), "-c", "import amqtt.broker"], capture_output=True, check=False
    )
    return check.returncode == 0


def which(*, allow_amqtt: bool = True) -> str:
    """The kind ``pick_broker`` would use: ``url``, ``mosquitto``, ``amqtt`` or ``none``."""
    wanted = requested()
    url = configured_url()
    if wanted in ("auto", "url") and (wanted == "url" or answers(url)):
        return "url"
    if wanted in ("auto", "mosquitto") and mosquitto_binary():
        return "mosquitto"
    if allow_amqtt and wanted in ("auto", "amqtt"):
        return "amqtt"
    return "none"


@contextmanager
def _amqtt(why: str) -> Iterator[BrokerChoice]:
    if not amqtt_installed():
        msg = (
            "the embedded broker amqtt is not installed: run `bash scripts/demo`, which installs "
            "it when it is needed, or: python3 -m venv .venv/amqtt && "
            ".venv/amqtt/bin/pip install amqtt"
        )
        raise NoBrokerError(msg)
    port = free_port()
    process = subprocess.Popen(
        [str(AMQTT_PYTHON), str(Path(__file__).with_name("amqtt_broker.py")), str(port)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    url = f"mqtt://127.0.0.1:{port}"
    try:
        # The broker prints one line once it listens (a TCP probe would make it log an error).
        assert process.stdout is not None
        if not process.stdout.readline().startswith("amqtt broker listening"):
            msg = f"the amqtt broker did not start on {url} (exit code {process.wait(10)})"
            raise NoBrokerError(msg)
        yield BrokerChoice("amqtt", url, f"{why}an embedded amqtt broker (pure Python) at {url}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]


@contextmanager
def pick_broker(*, allow_amqtt: bool = True) -> Iterator[BrokerChoice]:
    """Yield the broker to use (see the module docstring); a started one is stopped after."""
    kind = which(allow_amqtt=allow_amqtt)
    url = configured_url()
    wanted = requested()
    why = f"NESTPY_DEMO_BROKER={wanted}: " if wanted != "auto" else f"nothing answers at {url}: "
    if kind == "url":
        state = "it answers" if wanted == "auto" else "NESTPY_DEMO_BROKER=url"
        yield BrokerChoice("url", url, f"the broker at {url} ({state})")
    elif kind == "mosquitto":
        with MosquittoBroker() as broker:
            yield BrokerChoice(
                "mosquitto",
                broker.url,
                f"{why}a private Mosquitto ({broker.binary}) at {broker.url}",
            )
    elif kind == "amqtt":
        if wanted == "auto":
            why = f"nothing answers at {url} and mosquitto is not installed: "
        with _amqtt(why) as choice:
            yield choice
    elif wanted == "amqtt":
        msg = "NESTPY_DEMO_BROKER=amqtt: this sample needs MQTT 5 or shared subscriptions"
        raise NoBrokerError(msg)
    else:
        start = (
            f"{why}mosquitto is not installed"
            if wanted == "mosquitto"
            else (f"nothing answers at {url} and mosquitto is not installed")
        )
        msg = f"{start} (Debian/Ubuntu: apt-get install mosquitto; macOS: brew install mosquitto)"
        raise NoBrokerError(msg)


if __name__ == "__main__":  # ``python -m samples.brokers``: print the kind the demo would use
    try:
        print(which(allow_amqtt="--no-amqtt" not in sys.argv[1:]))
    except NoBrokerError:
        print("none")
