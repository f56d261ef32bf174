"""The transport ids, and how a transport's server and client are found: entry points.

A transport package registers a ``TransportImplementation`` under the ``nestpy.transports``
entry-point group, named after its ``Transport`` member in lower case; ``nestpy-mqtt``
registers ``mqtt`` and ``in_memory`` in its ``pyproject.toml``::

    [project.entry-points."nestpy.transports"]
    mqtt = "nestpy_mqtt.transport:MQTT"

The implementation is imported on first use only, so that the core never loads a transport's
client library (paho-mqtt for MQTT) unless that transport is used. A source tree that is not
installed has no entry points: the transports this distribution ships are found without them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nestpy.microservices.client_proxy import ClientProxy
    from nestpy.microservices.server import Server

__all__ = [
    "ENTRY_POINT_GROUP",
    "Transport",
    "TransportImplementation",
    "client_class",
    "implementation",
    "server_class",
]

ENTRY_POINT_GROUP = "nestpy.transports"


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


@dataclass(frozen=True)
class TransportImplementation:
    """A transport's server and client classes, as its package registers them.

    ``build_server(options, workers=N, **server_options)``, when given, builds the server for
    ``create_microservice(..., workers=N)`` (MQTT: with a shared subscription group); without
    it, ``workers`` > 1 is refused, since the processes would each take every message.
    """

    server_class: type[Server]
    client_class: type[ClientProxy]
    build_server: Callable[..., Server] | None = None

    def create_server(self, options: Any, *, workers: int = 1, **server_options: Any) -> Server:
        """A server with ``options``, built to run in ``workers`` processes."""
        if self.build_server is not None:
            return self.build_server(options, workers=workers, **server_options)
        if workers < 1:
            msg = f"workers must be at least 1, got {workers}"
            raise ValueError(msg)
        if workers > 1:
            msg = (
                f"workers > 1 needs a transport with shared subscriptions (Transport.MQTT); "
                f"{self.server_class.__name__} has none"
            )
            raise ValueError(msg)
        build: Callable[..., Server] = self.server_class  # a transport's own signature
        return build(options, **server_options)

    def create_client(self, options: Any) -> ClientProxy:
        """A client with ``options`` (not yet connected)."""
        build: Callable[..., ClientProxy] = self.client_class
        return build(options)


_SHIPPED: dict[str, tuple[str, str]] = {
    # The transports of this distribution, for a source tree whose entry points are not
    # registered: name -> (entry point value, distribution to install).
    "mqtt": ("nestpy_mqtt.transport:MQTT", "nestpy-mqtt"),
    "in_memory": ("nestpy.testing.in_memory:IN_MEMORY", "nestpy-mqtt"),
}


@functools.cache
def _registered() -> dict[str, EntryPoint]:
    found = {
        name: EntryPoint(name, value, ENTRY_POINT_GROUP) for name, (value, _) in _SHIPPED.items()
    }
    found.update((ep.name, ep) for ep in entry_points(group=ENTRY_POINT_GROUP))
    return found


def _distribution(entry_point: EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    if dist is not None:
        return str(dist.name)
    return _SHIPPED.get(entry_point.name, ("", "the package that provides it"))[1]


@functools.cache
def implementation(transport: Transport) -> TransportImplementation:
    """The registered implementation of ``transport``.

    Raises ``NotImplementedError`` when no package registers it, and ``ImportError`` (naming
    the distribution to install) when its package cannot be imported.
    """
    name = transport.name.lower()
    entry_point = _registered().get(name)
    if entry_point is None:
        supported = ", ".join(
            f"Transport.{t.name}" for t in Transport if t.name.lower() in _registered()
        )
        msg = (
            f"Transport.{transport.name} is not implemented by nestpy; supported: {supported}. "
            f"A transport package registers it as {name!r} in the {ENTRY_POINT_GROUP!r} "
            f"entry-point group."
        )
        raise NotImplementedError(msg)
    module_name = entry_point.value.partition(":")[0]
    try:
        loaded = entry_point.load()
    except ImportError as exc:
        msg = (
            f"Using Transport.{transport.name} needs the {module_name!r} package, which could "
            f"not be imported ({exc}). Install it with `pip install {_distribution(entry_point)}`."
        )
        raise ImportError(msg) from exc
    if not isinstance(loaded, TransportImplementation):
        msg = (
            f"The {ENTRY_POINT_GROUP!r} entry point {name!r} ({entry_point.value}) is a "
            f"{type(loaded).__name__}, not a TransportImplementation."
        )
        raise TypeError(msg)
    return loaded


def server_class(transport: Transport) -> Any:
    """The server class of ``transport``."""
    return implementation(transport).server_class


def client_class(transport: Transport) -> Any:
    """The client class of ``transport``."""
    return implementation(transport).client_class
