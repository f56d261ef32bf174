"""Connection supervision for ``MqttConnection``: backoff, when to give up, status and events
on connect and drop, duplicate client ids.

paho-free: CONNACK and DISCONNECT reason codes are read through ``.value`` and ``str()`` only.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nestpy_mqtt.errors import (
    MqttClientIdConflictError,
    MqttConnectionError,
    MqttConnectionLostError,
    MqttError,
)
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.status import EventEmitter, MqttStatus, StatusStream

__all__ = ["EVENTS", "Refused", "Supervisor"]

logger = logging.getLogger("nestpy.mqtt.connection")
E = TypeVar("E", bound=MqttConnectionError)

EVENTS = (
    "connect",
    "disconnect",
    "reconnect",
    "close",
    "end",
    "offline",
    "error",
    "message",
    "packetsend",
    "packetreceive",
)
"""Every event name ``on()`` accepts: mqtt.js's, as Nest's ``on()`` passes them through.

``end`` follows ``close`` after ``close()``; ``packetsend`` and ``packetreceive`` are accepted so
that Nest code ports unchanged, but never emitted (paho does not expose packets; listen to
``message`` for received messages)."""
# CONNACK reasons that retrying cannot fix: protocol, client id, credentials, authorisation, ban.
FATAL_CONNACK = frozenset({0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C})
SESSION_TAKEN_OVER = 0x8E
KICKS_BEFORE_CONFLICT = 3


class Refused(Exception):
    """The broker answered CONNECT with a failure reason code."""

    def __init__(self, reason: Any) -> None:
        self.reason = reason
        super().__init__(str(reason))


def _call_all(callbacks: list[Callable[..., None]], *args: Any) -> None:
    for callback in list(callbacks):
        try:
            callback(*args)
        except Exception:
            logger.exception("MQTT connection callback %r failed", callback)


class Supervisor:
    """The connection's life cycle, apart from paho: retries, status, events, callbacks."""

    def __init__(self, options: MqttOptions, url: str, client_id: str, name: str) -> None:
        self.options = options
        self.url = url
        self.client_id = client_id
        self.name = name
        self.status = StatusStream()
        self.events = EventEmitter(EVENTS)
        self.on_connection_lost: list[Callable[[MqttConnectionLostError], None]] = []
        self.on_reconnected: list[Callable[[], None]] = []
        self.last_error: BaseException | None = None
        self.kicks = 0
        """Consecutive drops that came right after a successful connect."""
        self._connected_at = 0.0
        self._ever_connected = False

    def error(self, cls: type[E], message: str, reason: str | None = None) -> E:
        """Build a connection error naming this connection's URL and client id."""
        return cls(message, url=self.url, client_id=self.client_id, reason=reason)

    def report(self, error: BaseException, *, log: bool = True) -> None:
        """Record an error no caller receives, log it and emit it as ``error``."""
        self.last_error = error
        if log:
            logger.error("%s: %s", self.name, error)
        self.events.emit("error", error)

    async def connect(self, attempt: Callable[[], Awaitable[None]], *, initial: bool) -> None:
        """Await ``attempt()`` until it succeeds, sleeping with exponential backoff between.

        For the first connection (``initial``), raise ``MqttConnectionError`` at once on a
        refusal retrying cannot fix or a TLS verification failure, and when ``connect_timeout``
        would elapse. Reconnects after a drop retry forever, as MQTT.js does.
        """
        try:
            await self._connect(attempt, initial)
        except MqttConnectionError as error:
            self.status.push(MqttStatus.DISCONNECTED)
            self.report(error, log=False)  # raised to the caller of connect()
            raise

    async def _connect(self, attempt: Callable[[], Awaitable[None]], initial: bool) -> None:
        opts = self.options
        started = time.monotonic()
        delay = min(
            opts.reconnect_min_delay * 2 ** max(self.kicks - 1, 0), opts.reconnect_max_delay
        )
        attempts = 0
        while True:
            attempts += 1
            if not initial or attempts > 1:
                self.status.push(MqttStatus.RECONNECTING)
                self.events.emit("reconnect")
            try:
                await attempt()
                return
            except Refused as exc:
                reason = str(exc.reason)
                last: BaseException = self.error(
                    MqttConnectionError, f"The broker refused the connection: {reason}", reason
                )
                if initial and exc.reason.value in FATAL_CONNACK:
                    raise last from None
            except ssl.SSLCertVerificationError as exc:
                msg = f"TLS certificate verification failed: {exc.verify_message}"
                last = self.error(MqttConnectionError, msg)
                if initial:
                    raise last from None
            except (OSError, MqttConnectionError) as exc:
                last = exc
            why = last.message if isinstance(last, MqttError) else str(last)
            timeout = opts.connect_timeout
            if initial and timeout is not None and time.monotonic() - started + delay > timeout:
                msg = (
                    f"Could not connect to the MQTT broker within {timeout:g} s "
                    f"({attempts} attempts; last error: {why})"
                )
                raise self.error(MqttConnectionError, msg, why)
            logger.warning(
                "%s: waiting for the MQTT broker at %s (client id %r): %s; retrying in %.2f s",
                *(self.name, self.url, self.client_id, why, delay),
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, opts.reconnect_max_delay)

    def connected(self, session_present: bool) -> None:
        """CONNACK accepted: status, ``connect`` event, reconnect callbacks."""
        reconnected, self._ever_connected = self._ever_connected, True
        self._connected_at = time.monotonic()
        self.status.push(MqttStatus.CONNECTED)
        logger.debug("%s: connected to %s as %r", self.name, self.url, self.client_id)
        self.events.emit("connect", session_present)
        if reconnected:
            _call_all(self.on_reconnected)

    def dropped(self, reason: Any, from_broker: bool) -> None:
        """An established connection dropped unexpectedly (a reconnect follows)."""
        msg = f"The connection to the MQTT broker was lost: {reason}"
        lost = self.error(MqttConnectionLostError, msg, str(reason))
        self.last_error = lost
        logger.warning("%s: MQTT connection lost (%s). Trying to reconnect...", self.name, reason)
        self.status.push(MqttStatus.DISCONNECTED)
        self.events.emit("offline")
        self.events.emit("disconnect", str(reason))
        _call_all(self.on_connection_lost, lost)
        conflict = self._conflict(time.monotonic() - self._connected_at, reason, from_broker)
        if conflict is not None:
            self.report(conflict)

    def closed(self) -> None:
        """``close()`` finished."""
        self.status.push(MqttStatus.CLOSED)
        self.events.emit("close")
        self.events.emit("end")

    def _conflict(self, lived: float, reason: Any, from_broker: bool) -> BaseException | None:
        # Brokers drop the older of two connections with one client id; both reconnect and
        # kick each other forever (NestJS issue #8804). Quick repeated drops give it away.
        taken_over = from_broker and getattr(reason, "value", None) == SESSION_TAKEN_OVER
        quick = lived < max(2.0, 2 * self.options.reconnect_max_delay)
        self.kicks = self.kicks + 1 if (quick or taken_over) else 0
        if not (taken_over or (self.kicks and self.kicks % KICKS_BEFORE_CONFLICT == 0)):
            return None
        why = (
            "the broker reported 'Session taken over'"
            if taken_over
            else f"the broker closed the connection {self.kicks} times in a row right after "
            "accepting it"
        )
        msg = (
            f"{why}: another client is probably connected with the same client id (a duplicate "
            "client id makes both connections kick each other forever, NestJS issue #8804). "
            "Give every server and client its own client_id"
        )
        return self.error(MqttClientIdConflictError, msg)
