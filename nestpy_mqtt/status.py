"""Connection status values, a replaying de-duplicating status stream, and event listeners.

``StatusStream`` behaves like Nest's ``ReplaySubject(1)`` piped through
``distinctUntilChanged``: every consumer first gets the latest status (if any), then each new,
different one, for as long as it iterates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from enum import StrEnum
from typing import Any

__all__ = ["EventEmitter", "MqttStatus", "StatusStream"]

logger = logging.getLogger("nestpy.mqtt.connection")


class MqttStatus(StrEnum):
    """The states a client or server connection reports (Nest's ``MqttStatus``)."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class StatusStream:
    """Replay-last-value, distinct-until-changed stream of ``MqttStatus``.

    ``async for status in stream`` works for any number of consumers, each of which sees the
    current value first. ``push`` is synchronous and never blocks: slow consumers only ever
    miss intermediate values, never the latest one.

    Example::

        async for status in connection.status:
            if status is MqttStatus.CONNECTED:
                break
    """

    def __init__(self) -> None:
        self._current: MqttStatus | None = None
        self._version = 0
        self._history: list[MqttStatus] = []
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def current(self) -> MqttStatus | None:
        """The latest status, or ``None`` before the first one."""
        return self._current

    def push(self, status: MqttStatus) -> None:
        """Publish a status; a value equal to the current one is dropped."""
        if status is self._current:
            return
        self._current = status
        self._version += 1
        # Keep a short history so that a consumer that was not scheduled between two quick
        # changes still sees each of them in order.
        self._history.append(status)
        if len(self._history) > 32:
            del self._history[:16]
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(self, status: MqttStatus) -> None:
        """Return once the stream reports ``status`` (at once if it is the current one)."""
        async for value in self:
            if value is status:
                return

    def __aiter__(self) -> AsyncIterator[MqttStatus]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[MqttStatus]:
        seen = self._version
        if self._current is not None:
            yield self._current
        while True:
            if self._version == seen:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)
            missed = self._version - seen
            start = max(len(self._history) - missed, 0)
            seen = self._version
            for value in self._history[start:]:
                yield value


class EventEmitter:
    """Named callbacks (``on(event, cb)``); a failing callback is logged, never propagated."""

    def __init__(self, events: Iterable[str]) -> None:
        self.events = frozenset(events)
        self._listeners: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Call ``callback(*args)`` each time ``event`` is emitted."""
        if event not in self.events:
            msg = f"Unknown MQTT event {event!r}; expected one of {', '.join(sorted(self.events))}"
            raise ValueError(msg)
        self._listeners.setdefault(event, []).append(callback)

    def has(self, event: str) -> bool:
        """Whether anyone listens to ``event``."""
        return event in self._listeners

    def emit(self, event: str, *args: Any) -> None:
        """Call the listeners of ``event``."""
        for callback in self._listeners.get(event, ()):
            try:
                callback(*args)
            except Exception:
                logger.exception("%r listener %r failed", event, callback)
