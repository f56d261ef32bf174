"""Backpressure for publishers: wait while too many bytes wait for the socket."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Protocol

__all__ = ["WriteGate"]


class _Buffer(Protocol):
    on_drain: Callable[[int], None] | None
    write_full: bool
    """Set by the buffer when more than ``write_limit`` bytes are queued."""
    write_limit: int

    @property
    def buffered_bytes(self) -> int: ...


class WriteGate:
    """Holds publishers back while more than ``limit`` bytes are queued (0: never).

    A publisher must wait while ``buffer.write_full`` or ``waiters`` (then it queues behind
    them, so messages keep their order); waiters go on, in order, once the queue is down to
    half the limit or the socket is gone.
    """

    __slots__ = ("_drained", "_limit", "waiters")

    def __init__(self, limit: int) -> None:
        self._limit = limit or sys.maxsize
        self._drained: asyncio.Future[None] | None = None
        self.waiters = 0
        """Publishers waiting now (others must queue behind them)."""

    def attach(self, buffer: _Buffer) -> None:
        """Have ``buffer`` flag ``write_full`` above the limit."""
        buffer.write_limit = self._limit

    async def wait(self, buffer: _Buffer | None) -> None:
        """Return once ``buffer`` holds at most the limit (at once if it does already)."""
        self.waiters += 1
        try:
            while buffer is not None and buffer.buffered_bytes > self._limit:
                drained = self._drained
                if drained is None or drained.done():
                    drained = self._drained = asyncio.get_running_loop().create_future()
                    buffer.on_drain = self._on_drain(buffer)
                await asyncio.shield(drained)
        finally:
            self.waiters -= 1

    def _on_drain(self, buffer: _Buffer) -> Callable[[int], None]:
        def drained(queued: int) -> None:
            if queued * 2 <= self._limit:
                buffer.on_drain = None
                future, self._drained = self._drained, None
                if future is not None and not future.done():
                    future.set_result(None)

        return drained
