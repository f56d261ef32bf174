"""Connection supervision for ``MqttConnection``: backoff, when to give up, status and events
on connect and drop, duplicate client ids.

paho-free: CONNACK and DISCONNECT reason codes are read through ``.value`` and ``str()`` only.

Backoff: the first attempt after a drop waits a random 0..``reconnect_min_delay``, so that a
fleet dropped at once does not come back in lockstep; each failed attempt then waits a random
time between ``reconnect_min_delay`` and a ceiling that doubles per failure up to
``reconnect_max_delay`` ("full jitter"). A drop is not a failure: only failed attempts (and
confirmed client id conflicts) make the wait grow, and a connection that stayed up for
``STABLE_AFTER`` seconds starts the growth over.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from nestpy_mqtt.errors import (
    MqttClientIdConflictError,
    MqttConnectionError,
    MqttConnectionLostError,
    MqttError,
)
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.status import EventEmitter, MqttStatus, StatusStream

__all__ = ["EVENTS", "Backoff", "DropCause", "Refused", "Supervisor", "drop_cause"]

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
UNSPECIFIED_ERROR = 0x80
"""What paho reports for a connection lost without a DISCONNECT packet (EOF or socket error)."""
KICKS_BEFORE_CONFLICT = 3
KICK_WINDOW = 5.0
"""A clean close by the peer this soon after CONNACK may be a takeover (the window is at least
``2 * reconnect_min_delay``: a duplicate reconnects within its own minimum delay)."""
STABLE_AFTER = 10.0
"""A connection up this long resets the backoff."""

DropCause = Literal["eof", "reset", "local"] | None
"""How a socket ended: ``eof`` the peer closed it (FIN), ``reset`` a network error (RST,
timeout), ``local`` we closed it (keepalive, protocol error); ``None``: unknown."""

# Linux TCP states (include/net/tcp_states.h) read from TCP_INFO's first byte.
_TCP_STATES: dict[int, DropCause] = {1: "local", 7: "reset", 8: "eof"}


def drop_cause(sock: Any) -> DropCause:
    """Why ``sock`` (about to be closed) ended, from the kernel's TCP state (Linux only).

    After the peer's FIN the socket is in CLOSE_WAIT, after an RST or a timeout in CLOSE, and
    still ESTABLISHED when we give up on it ourselves. ``None`` where TCP_INFO is unavailable.
    """
    tcp_info = getattr(socket, "TCP_INFO", None)
    try:
        fileno = sock.fileno()
        if tcp_info is None or fileno < 0:
            return None
        with socket.socket(fileno=fileno) as probe:
            try:
                state = probe.getsockopt(socket.IPPROTO_TCP, tcp_info, 1)
            finally:
                probe.detach()  # the descriptor stays paho's
    except (OSError, AttributeError, ValueError):
        return None
    return _TCP_STATES.get(struct.unpack("B", state[:1])[0]) if state else None


class Backoff:
    """Delays between connection attempts: exponential backoff with full jitter.

    Example (``reconnect_min_delay=1``, ``reconnect_max_delay=30``): before the first attempt
    after a drop 0-1 s, after one failure 1-2 s, after two 1-4 s, then 1-8 s... up to 1-30 s.
    """

    def __init__(self, low: float, high: float, rand: Callable[[], float] = random.random) -> None:
        self.low = low
        self.high = high
        self.failures = 0
        """Failed attempts (and confirmed conflicts) since the last stable connection."""
        self._rand = rand

    def first(self) -> float:
        """The wait before the first attempt after a drop: 0 to ``low``."""
        return self._rand() * self.low

    def failed(self) -> float:
        """Count a failure; return the wait before the next attempt."""
        self.failures += 1
        ceiling = min(self.high, self.low * 2.0 ** min(self.failures, 64))
        return self.low + self._rand() * (ceiling - self.low)

    def reset(self) -> None:
        """A stable connection: the next failures start from ``low`` again."""
        self.failures = 0


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
        """Consecutive drops that look like a broker takeover (see ``_conflict``)."""
        self.backoff = Backoff(options.reconnect_min_delay, options.reconnect_max_delay)
        self._first_wait = 0.0
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
        if not initial and self._first_wait > 0:
            await asyncio.sleep(self._first_wait)
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
            delay = self.backoff.failed()
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

    def connected(self, session_present: bool) -> None:
        """CONNACK accepted: status, ``connect`` event, reconnect callbacks."""
        reconnected, self._ever_connected = self._ever_connected, True
        self._connected_at = time.monotonic()
        self.status.push(MqttStatus.CONNECTED)
        logger.debug("%s: connected to %s as %r", self.name, self.url, self.client_id)
        self.events.emit("connect", session_present)
        if reconnected:
            _call_all(self.on_reconnected)

    def dropped(self, reason: Any, from_broker: bool, cause: DropCause = None) -> None:
        """An established connection dropped unexpectedly (a reconnect follows).

        ``from_broker``: the broker sent DISCONNECT (MQTT 5); ``cause``: how the socket ended.
        """
        lived = time.monotonic() - self._connected_at
        if lived >= STABLE_AFTER:
            self.backoff.reset()
        msg = f"The connection to the MQTT broker was lost: {reason}"
        lost = self.error(MqttConnectionLostError, msg, str(reason))
        self.last_error = lost
        logger.warning("%s: MQTT connection lost (%s). Trying to reconnect...", self.name, reason)
        self.status.push(MqttStatus.DISCONNECTED)
        self.events.emit("offline")
        self.events.emit("disconnect", str(reason))
        _call_all(self.on_connection_lost, lost)
        conflict = self._conflict(lived, reason, from_broker, cause)
        if conflict is not None:
            self.report(conflict)
            self._first_wait = self.backoff.failed()  # two duplicates: slow the fight down
        else:
            self._first_wait = self.backoff.first()

    def closed(self) -> None:
        """``close()`` finished."""
        self.status.push(MqttStatus.CLOSED)
        self.events.emit("close")
        self.events.emit("end")

    def _conflict(
        self, lived: float, reason: Any, from_broker: bool, cause: DropCause
    ) -> BaseException | None:
        # Brokers drop the older of two connections with one client id; both reconnect and
        # kick each other forever (NestJS issue #8804). MQTT 5 may say so (DISCONNECT 0x8E;
        # Mosquitto 2.0 closes the socket before sending it), MQTT 3.1.1 only closes the
        # socket: count clean closes (FIN; not a reset, a keepalive timeout or a protocol
        # error) soon after CONNACK, and report several in a row. A close relayed as FIN by a
        # proxy looks the same, hence the short window and the count.
        code = getattr(reason, "value", None)
        taken_over = from_broker and code == SESSION_TAKEN_OVER
        window = max(KICK_WINDOW, 2 * self.options.reconnect_min_delay)
        suspected = (
            not from_broker
            and code == UNSPECIFIED_ERROR
            and cause in ("eof", None)
            and lived < window
        )
        self.kicks = self.kicks + 1 if (taken_over or suspected) else 0
        if not (taken_over or (self.kicks and self.kicks % KICKS_BEFORE_CONFLICT == 0)):
            return None
        why = (
            "the broker reported 'Session taken over'"
            if taken_over
            else f"the broker closed the connection {self.kicks} times in a row within "
            f"{window:g} s of accepting it"
        )
        msg = (
            f"{why}: another client is probably connected with the same client id (a duplicate "
            "client id makes both connections kick each other forever, NestJS issue #8804). "
            "Give every server and client its own client_id"
        )
        return self.error(MqttClientIdConflictError, msg)
