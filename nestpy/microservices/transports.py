"""The built-in transports, and where their server and client classes live.

Classes are imported lazily so that the core never loads a transport's client library
(paho-mqtt for MQTT) unless that transport is used.
"""

from __future__ import annotations

import importlib
from enum import IntEnum
from typing import Any


class Transport(IntEnum):
    """Transport ids, numbered as in ``@nestjs/microservices``."""

    TCP = 0
    REDIS = 1
    NATS = 2
    MQTT = 3
    GRPC = 4
    RMQ = 5
    KAFKA = 6
    IN_MEMORY = 100


_IMPLEMENTATIONS: dict[Transport, tuple[str, str, str, str]] = {
    # transport: (module, server class, client class, distribution to install)
    Transport.MQTT: ("nestpy_mqtt", "ServerMqtt", "ClientMqtt", "nestpy-mqtt"),
    Transport.IN_MEMORY: (
        "nestpy.testing.in_memory",
        "InMemoryServer",
        "InMemoryClient",
        "nestpy-mqtt",
    ),
}


def _load(transport: Transport, index: int) -> Any:
    try:
        module_name, *names, distribution = _IMPLEMENTATIONS[transport]
    except KeyError:
        supported = ", ".join(f"Transport.{t.name}" for t in _IMPLEMENTATIONS)
        msg = f"Transport.{transport.name} is not implemented by nestpy; supported: {supported}."
        raise NotImplementedError(msg) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        msg = (
            f"Using Transport.{transport.name} needs the {module_name!r} package, which could "
            f"not be imported ({exc}). Install it with `pip install {distribution}`."
        )
        raise ImportError(msg) from exc
    return getattr(module, names[index])


def server_class(transport: Transport) -> Any:
    """The server class of ``transport``."""
    return _load(transport, 0)


def client_class(transport: Transport) -> Any:
    """The client class of ``transport``."""
    return _load(transport, 1)
