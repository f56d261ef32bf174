"""``ObservableTransport``: what a server or client offers when its connection can be watched.

Nest's ``Server`` and ``ClientProxy`` both have ``status``, ``on()`` and ``unwrap()``; in nestpy
they belong to the transports with a connection (``ServerMqtt``, ``ClientMqtt``), which match
this protocol structurally, so the core never names their types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["ObservableTransport", "observable"]


@runtime_checkable
class ObservableTransport(Protocol):
    """A server or client with a connection status, events and an underlying client."""

    @property
    def status(self) -> Any:
        """The connection status stream (``nestpy_mqtt.StatusStream`` for MQTT)."""
        ...

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Attach a listener to a connection event."""
        ...

    def unwrap(self) -> Any:
        """The transport's underlying client object (paho's client for MQTT)."""
        ...


def observable(transport: object, member: str) -> ObservableTransport:
    """``transport`` as an ``ObservableTransport``; ``AttributeError`` naming ``member`` if not."""
    if isinstance(transport, ObservableTransport):
        return transport
    name = type(transport).__name__
    msg = (
        f"{name} has no {member}: status, on() and unwrap() belong to transports with a "
        f"connection (e.g. Transport.MQTT); {name} does not implement ObservableTransport."
    )
    raise AttributeError(msg)
