"""One request of a ``ClientProxy``: its id, its pending state (a future or a queue), and the
``ResponseStream`` that ``send`` returns."""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

from nestpy.microservices.codec import MISSING, IncomingResponse
from nestpy.microservices.exceptions import RpcException

if TYPE_CHECKING:
    from nestpy.microservices.client_proxy import ClientProxy

__all__ = ["END", "PendingRequest", "ResponseStream", "new_request_id"]

END = object()
"""Put on a streaming request's queue after its last value."""


_IDS_PER_DRAW = 256
_ids: Iterator[str] = iter(())


def new_request_id() -> str:
    """21 lowercase hex characters, the shape of Nest 12's ids, all 84 bits from the OS's
    CSPRNG (``os.urandom``, as ``secrets`` uses): a party that sees other ids cannot predict
    the next one.

    The random bytes are drawn for 256 ids at once (one system call instead of one per id);
    each id is handed out once, from any thread (``next`` on a list iterator is atomic), and a
    forked child draws its own.
    """
    request_id = next(_ids, None)
    return request_id if request_id is not None else _draw_ids()


def _draw_ids() -> str:
    global _ids
    digits = os.urandom(11 * _IDS_PER_DRAW).hex()  # 22 hex digits an id; the first is dropped
    _ids = iter([digits[i + 1 : i + 22] for i in range(0, len(digits), 22)])
    return next(_ids)


def _forget_ids() -> None:
    global _ids
    _ids = iter(())


if hasattr(os, "register_at_fork"):  # never share undrawn ids with a forked child
    os.register_at_fork(after_in_child=_forget_ids)


class PendingRequest:
    """One request waiting for its replies: a future (await) or a queue (async for)."""

    __slots__ = ("future", "last", "pattern", "queue", "route", "sent")

    def __init__(
        self,
        route: str,
        future: asyncio.Future[Any] | None,
        queue: asyncio.Queue[Any] | None = None,
        pattern: Any = None,
    ) -> None:
        self.route = route
        self.pattern = pattern
        self.future = future
        self.queue = queue
        self.last: Any = None
        self.sent = False
        """Whether the request was handed to the transport (a lost link then fails it)."""

    def deliver(self, reply: IncomingResponse) -> None:
        """Take one reply packet: a value, the end of the stream, or an error."""
        if reply.err is not MISSING:
            self.fail(RpcException(reply.err))
            return
        if self.queue is not None:
            if reply.response is not MISSING:
                self.queue.put_nowait(reply.response)
            if reply.is_disposed:
                self.queue.put_nowait(END)
            return
        if reply.response is not MISSING:
            self.last = reply.response
        if reply.is_disposed and self.future is not None and not self.future.done():
            self.future.set_result(self.last)

    def fail(self, exc: BaseException) -> None:
        """End the request with ``exc`` (raised to the caller awaiting or iterating it)."""
        if self.queue is not None:
            self.queue.put_nowait(exc)
        elif self.future is not None and not self.future.done():
            self.future.set_exception(exc)


class ResponseStream:
    """The reply to ``send``: awaitable (last value) and async-iterable (every value).

    Dropped without being awaited or iterated, it sent nothing: a ``RuntimeWarning`` says so,
    as Python does for a coroutine never awaited.
    """

    __slots__ = ("_client", "_data", "_pattern", "_timeout", "_used")

    def __init__(self, client: ClientProxy, pattern: Any, data: Any, timeout: float | None):
        self._used = False
        self._client = client
        self._pattern = pattern
        self._data = data
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, Any]:
        self._used = True
        return self._client._request_last(self._pattern, self._data, self._timeout).__await__()

    def __aiter__(self) -> AsyncIterator[Any]:
        self._used = True
        return self._client._request_stream(self._pattern, self._data, self._timeout)

    def __del__(self) -> None:
        if not self._used:
            warnings.warn(
                f"client.send({self._pattern!r}, ...) was never awaited or iterated, so nothing "
                "was sent: write 'await client.send(...)' or 'async for value in "
                "client.send(...)'",
                RuntimeWarning,
                stacklevel=1,  # no caller frame to blame: the stream was garbage-collected
                source=self,  # with tracemalloc on, the warning shows where it was created
            )
