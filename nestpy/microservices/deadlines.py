"""Request timeouts at a dict operation each: one loop timer per distinct timeout value."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable

__all__ = ["Deadlines"]


class _Bucket:
    __slots__ = ("due", "timer")

    def __init__(self) -> None:
        self.due: dict[Hashable, float] = {}
        self.timer: asyncio.TimerHandle | None = None


class Deadlines:
    """Call ``on_expired(key, timeout)`` ``timeout`` seconds after ``add``, unless ``discard``
    came first.

    Keys added with the same timeout expire in the order they were added, so each timeout value
    keeps its keys in one insertion-ordered dict with one timer, set for the oldest key; adding
    and discarding are dict operations. (A ``call_later`` handle per request cost several times
    more and filled the loop's timer heap with cancelled handles.)
    """

    __slots__ = ("_buckets", "loop", "on_expired")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_expired: Callable[[Hashable, float], None],
    ) -> None:
        self.loop = loop
        self.on_expired = on_expired
        self._buckets: dict[float, _Bucket] = {}

    def add(self, key: Hashable, timeout: float) -> None:
        """Start ``key``'s clock (``key`` must not be waiting already)."""
        bucket = self._buckets.get(timeout)
        if bucket is None:
            bucket = self._buckets[timeout] = _Bucket()
        deadline = bucket.due[key] = self.loop.time() + timeout
        if bucket.timer is None:
            bucket.timer = self.loop.call_at(deadline, self._expire, timeout)

    def discard(self, key: Hashable, timeout: float) -> None:
        """Stop ``key``'s clock; nothing happens if it expired already."""
        bucket = self._buckets.get(timeout)
        if bucket is not None:
            bucket.due.pop(key, None)

    def _expire(self, timeout: float) -> None:
        bucket = self._buckets[timeout]
        bucket.timer = None
        due, now = bucket.due, self.loop.time()
        expired = []
        for key, deadline in due.items():
            if deadline > now:
                break
            expired.append(key)
        for key in expired:
            del due[key]
        if due:  # the timer is set for the oldest key still waiting
            bucket.timer = self.loop.call_at(next(iter(due.values())), self._expire, timeout)
        else:
            del self._buckets[timeout]
        for key in expired:
            self.on_expired(key, timeout)
