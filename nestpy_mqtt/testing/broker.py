"""``MosquittoBroker``: a private Mosquitto for tests, on a free loopback port.

Example::

    with MosquittoBroker() as broker:
        options = MqttOptions(url=broker.url)
        ...
        broker.restart()          # same port: clients reconnect

Extra configuration lines (TLS listeners, plugins, bridges...) go in ``extra_config``; ``{dir}``
in a line stands for ``broker.directory``, where files they need can be written before
``start()``. ``users=`` and ``acl=`` write a password file and an ACL file. ``websockets=True``
adds an MQTT-over-WebSocket listener (``broker.ws_url``) next to the TCP one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

__all__ = ["MosquittoBroker", "MosquittoNotFoundError", "find_mosquitto", "free_port"]

_SEARCH_DIRS = (
    "/usr/sbin",
    "/usr/local/sbin",
    "/opt/homebrew/sbin",
    "/usr/local/opt/mosquitto/sbin",
)


class MosquittoNotFoundError(RuntimeError):
    """The ``mosquitto`` binary is not installed."""


def find_mosquitto() -> str:
    """Return the path of the ``mosquitto`` binary (``PATH``, then the usual ``sbin`` dirs)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for directory in _SEARCH_DIRS:
        candidate = Path(directory) / "mosquitto"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    msg = (
        "The mosquitto broker binary was not found on PATH or in /usr/sbin. Install it "
        "(Debian/Ubuntu: apt-get install mosquitto; macOS: brew install mosquitto)."
    )
    raise MosquittoNotFoundError(msg)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _password_line(username: str, password: str) -> str:
    # Mosquitto 2 format: $7$<iterations>$<salt>$<PBKDF2-SHA512 hash>, both base64.
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return (
        f"{username}:$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}\n"
    )


class MosquittoBroker:
    """A Mosquitto subprocess with its own config, port and (optional) persistence dir."""

    def __init__(
        self,
        *,
        port: int | None = None,
        persistence: bool = False,
        extra_config: Iterable[str] = (),
        max_queued_messages: int = 100_000,
        allow_anonymous: bool = True,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        startup_timeout: float = 10.0,
        binary: str | None = None,
        websockets: bool = False,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.ws_port = free_port(self.host) if websockets else None
        """The WebSocket listener's port (``websockets=True``), kept across restarts. Mosquitto
        2.0 binds it on every interface: its WebSocket listeners take no address."""
        self.persistence = persistence
        self.extra_config = list(extra_config)
        self.max_queued_messages = max_queued_messages
        self.allow_anonymous = allow_anonymous
        self.users = dict(users or {})
        """``username -> password``, written to a Mosquitto ``password_file``."""
        self.acl = acl
        """Contents of an ``acl_file`` (``user alice`` / ``topic read sensors/#`` lines)."""
        self.startup_timeout = startup_timeout
        self.binary = binary or find_mosquitto()
        self._tmp = tempfile.TemporaryDirectory(prefix="nestpy-mosquitto-")
        self.directory = Path(self._tmp.name)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Path = self.directory / "mosquitto.log"

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<ws_port>/mqtt``; needs ``websockets=True``."""
        if self.ws_port is None:
            msg = (
                "This broker has no WebSocket listener: build it with "
                "MosquittoBroker(websockets=True)."
            )
            raise RuntimeError(msg)
        return f"ws://{self.host}:{self.ws_port}/mqtt"

    @property
    def is_running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def config_path(self) -> Path:
        """The generated ``mosquitto.conf``."""
        return self.directory / "mosquitto.conf"

    def log(self) -> str:
        """Return what the broker has logged so far."""
        try:
            return self._log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            f"max_queued_messages {self.max_queued_messages}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"persistence {'true' if self.persistence else 'false'}",
        ]
        if self.ws_port is not None:
            # A listener of its own: Mosquitto 2.0.11 cannot start with a WebSocket listener
            # alone, and its WebSocket listeners bind every interface (no address allowed).
            lines += [f"listener {self.ws_port}", "protocol websockets"]
        if self.persistence:
            persist_dir = self.directory / "data"
            persist_dir.mkdir(exist_ok=True)
            lines.append(f"persistence_location {persist_dir}/")
        if self.users:
            password_file = self.directory / "passwords"
            password_file.write_text("".join(_password_line(u, p) for u, p in self.users.items()))
            lines.append(f"password_file {password_file}")
        if self.acl is not None:
            acl_file = self.directory / "acl"
            acl_file.write_text(self.acl.strip() + "\n")
            lines.append(f"acl_file {acl_file}")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to "mosquitto" and cannot write here
        lines.extend(line.replace("{dir}", str(self.directory)) for line in self.extra_config)
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self) -> MosquittoBroker:
        """Start the broker and wait until its port accepts connections."""
        if self.is_running:
            return self
        self._write_config()
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [self.binary, "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                msg = (
                    f"mosquitto exited with code {self._process.returncode} at start-up "
                    f"(port {self.port}).\nConfig {self.config_path}:\n"
                    f"{self.config_path.read_text()}\nLog:\n{self.log()}"
                )
                self._process = None
                raise RuntimeError(msg)
            try:
                for port in (self.port, self.ws_port):
                    if port is not None:
                        with socket.create_connection((self.host, port), timeout=0.2):
                            pass
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    msg = (
                        f"mosquitto did not accept connections on {self.url} in time.\n{self.log()}"
                    )
                    raise RuntimeError(msg) from None
                time.sleep(0.01)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker gracefully (SIGTERM: persistent sessions are saved)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL: nothing is saved, clients see a dead socket)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> MosquittoBroker:
        """Stop and start again on the same port."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the broker and remove its directory."""
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"MosquittoBroker(url={self.url!r}, {state})"
