"""Errors raised by the MQTT transport.

Hierarchy::

    NestpyError
    └── MqttError
        ├── MqttConnectionError (also ConnectionError)
        │   ├── MqttConnectionLostError      an established connection dropped or was closed
        │   └── MqttClientIdConflictError    the broker keeps kicking us: duplicate client id
        ├── MqttSubscribeError               the broker refused a subscription (SUBACK failure)
        ├── MqttPublishError                 a publish could not be queued or was refused
        └── MqttNotInitializedError (also RuntimeError)   ``unwrap()`` before ``connect()``

Every error carries the broker ``url`` (user-info, if any, replaced by ``***``) and the
``client_id`` so that a log line alone says which connection failed.
"""

from __future__ import annotations

from nestpy.errors import NestpyError
from nestpy_mqtt.options import redact_url

__all__ = [
    "MqttClientIdConflictError",
    "MqttConnectionError",
    "MqttConnectionLostError",
    "MqttError",
    "MqttNotInitializedError",
    "MqttPublishError",
    "MqttSubscribeError",
]


def _where(url: str | None, client_id: str | None) -> str:
    if url is None:
        return ""
    return f" (broker {url}, client id {client_id!r})"


class MqttError(NestpyError):
    """Base class of the MQTT transport's errors."""

    def __init__(self, message: str, *, url: str | None = None, client_id: str | None = None):
        self.url = url if url is None else redact_url(url)
        self.client_id = client_id
        self.message = message
        super().__init__(message + _where(self.url, client_id))


class MqttConnectionError(MqttError, ConnectionError):
    """The broker could not be reached, refused the connection, or the connection failed."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        client_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.reason = reason
        super().__init__(message, url=url, client_id=client_id)


class MqttConnectionLostError(MqttConnectionError):
    """The connection dropped or was closed while an operation was waiting for the broker."""


class MqttClientIdConflictError(MqttConnectionError):
    """The broker repeatedly closed the connection right after accepting it.

    Brokers close an existing session when another client connects with the same client id,
    so two connections sharing an id kick each other forever (NestJS issue #8804).
    """


class MqttSubscribeError(MqttError):
    """The broker refused a subscription (SUBACK 0x80 in MQTT 3.1.1, a reason >= 0x80 in 5)."""

    def __init__(
        self,
        topic: str,
        reason: str,
        *,
        url: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(
            f"The broker refused the subscription to {topic!r}: {reason}",
            url=url,
            client_id=client_id,
        )


class MqttPublishError(MqttError):
    """A message could not be published, or the broker refused it (MQTT 5 PUBACK >= 0x80)."""

    def __init__(
        self,
        topic: str,
        reason: str,
        *,
        url: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(f"Publishing to {topic!r} failed: {reason}", url=url, client_id=client_id)


class MqttNotInitializedError(MqttError, RuntimeError):
    """The underlying client was requested before the connection was created."""
