"""The transport-agnostic client (Nest's ``ClientProxy``): ``send``, ``emit`` and replies.

``send`` returns a ``ResponseStream``: ``await`` it for the last value, or ``async for`` over it
for every value of a streaming handler. Like Nest's cold observable, nothing is sent until it
is awaited or iterated, and each await/iteration sends the request again. ``emit`` is hot: the
event is published at once, and the returned future completes when the transport has sent it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Generator
from typing import Any

from nestpy.microservices.codec import (
    MISSING,
    IncomingResponse,
    decode_response,
    encode_event,
    encode_request,
)
from nestpy.microservices.exceptions import (
    InvalidMessageError,
    RequestTimeoutError,
    RpcException,
)
from nestpy.microservices.patterns import transform_pattern_to_route

logger = logging.getLogger("nestpy.microservices.client")

_END = object()


class _Pending:
    """One request waiting for its replies: a future (await) or a queue (async for)."""

    __slots__ = ("future", "last", "queue")

    def __init__(
        self, future: asyncio.Future[Any] | None, queue: asyncio.Queue[Any] | None = None
    ) -> None:
        self.future = future
        self.queue = queue
        self.last: Any = None

    def deliver(self, reply: IncomingResponse) -> None:
        if reply.err is not MISSING:
            self.fail(RpcException(reply.err))
            return
        if self.queue is not None:
            if reply.response is not MISSING:
                self.queue.put_nowait(reply.response)
            if reply.is_disposed:
                self.queue.put_nowait(_END)
            return
        if reply.response is not MISSING:
            self.last = reply.response
        if reply.is_disposed and self.future is not None and not self.future.done():
            self.future.set_result(self.last)

    def fail(self, exc: BaseException) -> None:
        if self.queue is not None:
            self.queue.put_nowait(exc)
        elif self.future is not None and not self.future.done():
            self.future.set_exception(exc)


class ResponseStream:
    """The reply to ``send``: awaitable (last value) and async-iterable (every value)."""

    __slots__ = ("_client", "_data", "_pattern", "_timeout")

    def __init__(self, client: ClientProxy, pattern: Any, data: Any, timeout: float | None):
        self._client = client
        self._pattern = pattern
        self._data = data
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, Any]:
        return self._client._request_last(self._pattern, self._data, self._timeout).__await__()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._client._request_stream(self._pattern, self._data, self._timeout)


class ClientProxy(ABC):
    """Base class of every transport's client.

    Subclasses implement ``connect``, ``close``, ``_publish_request`` and ``_dispatch_event``,
    and pass every reply payload they receive to ``handle_response``. When the connection drops
    with requests in flight, they call ``fail_pending`` so that no caller hangs.
    """

    def __init__(self, *, request_timeout: float | None = None) -> None:
        self._pending: dict[str, _Pending] = {}
        self._request_timeout = request_timeout
        # Ids are opaque strings of 21 characters, like Nest 12's: a random prefix per client
        # and a counter, so that clients sharing a reply topic never collide.
        self._id_prefix = secrets.token_hex(5)
        self._counter = itertools.count(1)

    # -- transport hooks -----------------------------------------------------------------------

    @abstractmethod
    async def connect(self) -> None:
        """Connect to the broker; idempotent. ``send`` and ``emit`` call it lazily."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect; pending requests fail. A later ``send`` connects again."""

    @abstractmethod
    async def _publish_request(self, route: str, payload: bytes, options: Any) -> None:
        """Send a request packet on ``route``, ready to receive its replies."""

    @abstractmethod
    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None:
        """Send an event packet on ``route``; return once the transport has sent it."""

    def _publish_now(self, route: str, payload: bytes, options: Any) -> bool:
        """Send a request at once if the transport is ready for it (the fast path).

        Return False, having sent nothing, when ``_publish_request`` must run instead (not
        connected yet, reply subscription pending). The default never takes the fast path.
        """
        return False

    def _emit_now(self, route: str, payload: bytes, options: Any) -> asyncio.Future[None] | None:
        """Send an event at once if the transport is ready; a future completed when sent.

        Return None, having sent nothing, when ``_dispatch_event`` must run in a task instead.
        """
        return None

    async def on_application_shutdown(self, signal: str | None = None) -> None:
        """Lifecycle hook: an application closes the clients it provides."""
        await self.close()

    def _unpack_record(self, data: Any) -> tuple[Any, Any]:
        """Split a transport record (e.g. ``MqttRecord``) into data and publish options."""
        return data, None

    # -- public API ----------------------------------------------------------------------------

    def send(self, pattern: Any, data: Any, *, timeout: float | None = None) -> ResponseStream:
        """Send a request to the handler of ``pattern``.

        ``timeout`` (seconds, default: the client's ``request_timeout``) raises
        ``RequestTimeoutError``: it bounds the whole request when awaited (connecting included),
        and sending plus the wait for each value when iterated. An error reply raises
        ``RpcException`` carrying the error exactly as the service sent it.
        """
        if pattern is None or data is None:
            raise InvalidMessageError
        if timeout is None:
            timeout = self._request_timeout
        return ResponseStream(self, pattern, data, timeout)

    def emit(self, pattern: Any, data: Any) -> asyncio.Future[None]:
        """Publish an event to ``pattern`` now; await the result to know it was sent.

        The result is a future (a task when the event has to wait for the connection); a
        failure nobody awaits is logged as a warning.
        """
        if pattern is None or data is None:
            raise InvalidMessageError
        data, options = self._unpack_record(data)
        payload = encode_event(pattern, data)
        route = transform_pattern_to_route(pattern)
        sent = self._emit_now(route, payload, options)
        if sent is None:
            sent = asyncio.ensure_future(self._dispatch_event(route, payload, options))
        if not sent.done() or sent.cancelled() or sent.exception() is not None:
            sent.add_done_callback(_log_emit_failure)
        return sent

    @property
    def pending_requests(self) -> int:
        """How many requests are waiting for replies."""
        return len(self._pending)

    def handle_response(self, payload: bytes | bytearray) -> None:
        """Route a reply packet to its request; unknown ids and bad packets are dropped."""
        reply = decode_response(payload)
        if reply is None or not isinstance(reply.id, str):
            return
        pending = self._pending.get(reply.id)
        if pending is not None:
            pending.deliver(reply)

    def fail_pending(self, exc: BaseException) -> None:
        """Fail every pending request with ``exc`` (e.g. ``ConnectionLostError``)."""
        pending, self._pending = self._pending, {}
        for request in pending.values():
            request.fail(exc)

    # -- internals -----------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self._id_prefix}{next(self._counter):011x}"

    def _prepare(self, pattern: Any, data: Any) -> tuple[str, str, bytes, Any]:
        data, options = self._unpack_record(data)
        request_id = self._next_id()
        route = transform_pattern_to_route(pattern)
        return request_id, route, encode_request(pattern, data, request_id), options

    async def _request_last(self, pattern: Any, data: Any, timeout: float | None) -> Any:
        request_id, route, payload, options = self._prepare(pattern, data)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(future)
        if timeout is None:
            try:
                if not self._publish_now(route, payload, options):
                    await self._publish_request(route, payload, options)
                return await future
            finally:
                self._pending.pop(request_id, None)
        # The timeout bounds the whole request: connecting (or reconnecting), the reply
        # subscription and the publish, not only the wait for the reply.
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                if not self._publish_now(route, payload, options):
                    await self._publish_request(route, payload, options)
                return await future
        except TimeoutError:
            if deadline.expired():
                raise RequestTimeoutError(pattern, timeout or 0) from None
            raise
        finally:
            self._pending.pop(request_id, None)

    async def _request_stream(
        self, pattern: Any, data: Any, timeout: float | None
    ) -> AsyncIterator[Any]:
        request_id, route, payload, options = self._prepare(pattern, data)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending[request_id] = _Pending(None, queue)
        try:
            deadline = asyncio.timeout(timeout)
            try:
                async with deadline:
                    await self._publish_request(route, payload, options)
            except TimeoutError:
                if deadline.expired():
                    raise RequestTimeoutError(pattern, timeout or 0) from None
                raise
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    raise RequestTimeoutError(pattern, timeout or 0) from None
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._pending.pop(request_id, None)


def _log_emit_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.warning("An event could not be published: %s", exc)
