"""A throw-away certificate authority for TLS tests and benchmarks against a private Mosquitto.

``make_certificates(directory)`` writes a CA, a server certificate for 127.0.0.1 and a client
certificate (CN=alice) with ``openssl``; ``tls_listener(port, directory)`` is the Mosquitto
configuration of a TLS listener using them (``MosquittoBroker(extra_config=...)``), MQTT or
MQTT over WebSocket (``wss://``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["OpenSSLNotFoundError", "make_certificates", "tls_listener"]


class OpenSSLNotFoundError(RuntimeError):
    """The ``openssl`` command is not installed."""


def make_certificates(directory: Path) -> Path:
    """A CA (``ca.crt``), a server certificate for 127.0.0.1 (``server.crt``/``.key``) and a
    client certificate, CN=alice (``client.crt``/``.key``), valid one day, in ``directory``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        msg = "openssl not found: install it (Debian: apt-get install openssl)"
        raise OpenSSLNotFoundError(msg)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
        "-subj", "/CN=nestpy security test CA")  # fmt: skip
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=alice")):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "1",
            "-extfile", f"{name}.ext")  # fmt: skip
    return directory


def tls_listener(
    port: int, certs: Path, *, mutual: bool = False, websockets: bool = False
) -> list[str]:
    """Mosquitto configuration lines for a TLS listener on 127.0.0.1:``port``.

    ``websockets``: MQTT over secure WebSocket (``wss://127.0.0.1:<port>/mqtt``); Mosquitto 2.0
    binds it on every interface (its WebSocket listeners take no address) and needs a plain
    listener besides it, as ``MosquittoBroker`` always has.
    """
    listener = (
        [f"listener {port}", "protocol websockets"]
        if websockets
        else [f"listener {port} 127.0.0.1"]
    )
    config = [
        *listener,
        f"cafile {certs / 'ca.crt'}",
        f"certfile {certs / 'server.crt'}",
        f"keyfile {certs / 'server.key'}",
    ]
    if mutual:
        config.append("require_certificate true")
    return config
