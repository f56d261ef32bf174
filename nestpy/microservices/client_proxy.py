"""The transport-agnostic client (Nest's ``ClientProxy``): ``send``, ``emit`` and replies.

``send`` returns a ``ResponseStream``: ``await`` it for the last value, or ``async for`` over it
for every value of a streaming handler. Like Nest's cold observable, nothing is sent until it
is awaited or iterated, and each await/iteration sends the request again (a stream dropped
unused warns, as a coroutine never awaited does). ``emit`` is hot: the event is published at
once, and the returned future completes when the transport has sent it.

Every request ends: a reply, an error, a lost connection (once it was sent) or its timeout.
Its id is drawn from the OS's CSPRNG, and a reply is accepted only on the request's own reply
topic when the transport says where the reply came from.
"""

from __future__ import annotations

import asyncio
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from nestpy.microservices.codec import (
    IncomingResponse,
    decode_response,
    encode_event,
    encode_request,
    incoming_response,
)
from nestpy.microservices.deadlines import Deadlines
from nestpy.microservices.exceptions import (
    InvalidMessageError,
    RequestTimeoutError,
)
from nestpy.microservices.patterns import transform_pattern_to_route
from nestpy.microservices.requests import END, PendingRequest, ResponseStream, new_request_id
from nestpy.microservices.serializers import payload_bytes

logger = logging.getLogger("nestpy.microservices.client")


class ClientProxy(ABC):
    """Base class of every transport's client.

    Subclasses implement ``connect``, ``close``, ``_publish_request`` and ``_dispatch_event``,
    and pass every reply payload they receive to ``handle_response`` (with the channel it came
    on, if they override ``reply_channel``, so that a reply is accepted only on its request's
    reply channel). When the connection
    drops with requests in flight, they call ``fail_pending(..., sent_only=True)``: the
    requests already sent fail, the others wait for the reconnection within their timeout.
    """

    def __init__(self, *, request_timeout: float | None = None) -> None:
        self._pending: dict[str, PendingRequest] = {}
        self._request_timeout = request_timeout
        self._deadlines: Deadlines | None = None
        self.serializer: Any = None
        """Writes outgoing packets (``serialize({"pattern", "data"[, "id"]}, options)``);
        None: Nest's envelope. See ``nestpy.microservices.serializers``."""
        self.deserializer: Any = None
        """Reads replies (``deserialize(payload, {"channel": topic})``); None: Nest's."""

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

    def _request_options(self, options: Any, timeout: float | None, request_id: str = "") -> Any:
        """The publish options of request ``request_id`` with this ``timeout`` (MQTT 5: its
        expiry; its Correlation Data with a client ``reply_topic``)."""
        return options

    def _unsent_reason(self) -> str | None:
        """Why a request could not be sent yet (e.g. not connected), for its timeout error."""
        return None

    # -- public API ----------------------------------------------------------------------------

    def send(self, pattern: Any, data: Any, *, timeout: float | None = None) -> ResponseStream:
        """Send a request to the handler of ``pattern``.

        ``timeout`` (seconds, default: the client's ``request_timeout``; ``math.inf``: no
        limit) raises ``RequestTimeoutError``: it bounds the whole request when awaited
        (connecting included), and sending plus the wait for each value when iterated. An
        error reply raises ``RpcException`` carrying the error exactly as the service sent it.
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
        route = transform_pattern_to_route(pattern)
        if self.serializer is None:
            payload = encode_event(pattern, data)
        else:
            payload = self._serialize({"pattern": pattern, "data": data}, route)
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

    def reply_channel(self, route: str) -> str:
        """The channel the replies to requests on ``route`` come back on (MQTT: ``<route>/reply``).

        A transport that passes ``channel`` to ``handle_response`` overrides it.
        """
        msg = f"{type(self).__name__} passes reply channels but does not define reply_channel()"
        raise NotImplementedError(msg)

    def handle_response(self, payload: bytes | bytearray, channel: str | None = None) -> None:
        """Route a reply packet to its request; unknown ids and bad packets are dropped.

        ``channel``: the topic the reply came on. When given, a reply is accepted only on its
        request's own reply channel (``reply_channel(route)``), so that a party allowed to
        publish on another reply topic cannot answer in the service's place.
        """
        if self.deserializer is None:
            reply = decode_response(payload, channel)
        else:
            try:
                reply = incoming_response(
                    self.deserializer.deserialize(payload, {"channel": channel})
                )
            except Exception as exc:
                logger.warning(
                    "Dropped a reply on %r: it could not be deserialized (%s: %s)",
                    channel,
                    type(exc).__name__,
                    exc,
                )
                return
        self.deliver_response(reply, channel)

    def deliver_response(self, reply: IncomingResponse | None, channel: str | None) -> None:
        """Route a decoded reply to its request (see ``handle_response``)."""
        if reply is None or not isinstance(reply.id, str):
            return
        pending = self._pending.get(reply.id)
        if pending is None:
            return
        if channel is not None and not self._accepts_reply_on(channel, pending.route):
            logger.warning(
                "Dropped a reply on %r to a request sent on %r (its replies come on %r): "
                "another client may be publishing on reply topics; restrict who may publish "
                "on them with broker ACLs",
                channel,
                pending.route,
                self._reply_channel_of(pending.route),
            )
            return
        pending.deliver(reply)

    def _reply_channel_of(self, route: str) -> str:
        """Where replies to a request sent on ``route`` come (a transport may use one for all)."""
        return self.reply_channel(route)

    def _accepts_reply_on(self, channel: str, route: str) -> bool:
        """Whether a reply to a request sent on ``route`` may come on ``channel``."""
        return channel == self._reply_channel_of(route)

    def _serialize(self, packet: dict[str, Any], route: str) -> bytes:
        return payload_bytes(self.serializer.serialize(packet, {"channel": route}))

    def fail_pending(self, exc: BaseException, *, sent_only: bool = False) -> None:
        """Fail pending requests with ``exc`` (e.g. ``ConnectionLostError``).

        ``sent_only``: only those already handed to the transport; the others (waiting for
        the connection or a reply subscription) go on and are sent when the link is back.
        """
        if not sent_only:
            pending, self._pending = self._pending, {}
            for request in pending.values():
                request.fail(exc)
            return
        for request_id, request in list(self._pending.items()):
            if request.sent:
                del self._pending[request_id]
                request.fail(exc)

    # -- internals -----------------------------------------------------------------------------

    def _prepare(
        self, pattern: Any, data: Any, timeout: float | None
    ) -> tuple[str, str, bytes, Any]:
        data, options = self._unpack_record(data)
        request_id = new_request_id()
        while request_id in self._pending:  # 84 random bits: never, but a clash would misroute
            request_id = new_request_id()
        route = transform_pattern_to_route(pattern)
        if self.serializer is None:
            payload = encode_request(pattern, data, request_id)
        else:
            payload = self._serialize({"pattern": pattern, "data": data, "id": request_id}, route)
        return request_id, route, payload, self._request_options(options, timeout, request_id)

    def _timeout_error(self, pattern: Any, timeout: float, pending: PendingRequest) -> Exception:
        reason = None if pending.sent else self._unsent_reason()
        return RequestTimeoutError(pattern, timeout, unsent_reason=reason)

    async def _send(
        self, pending: PendingRequest, route: str, payload: bytes, options: Any
    ) -> None:
        await self._publish_request(route, payload, options)
        pending.sent = True

    async def _request_last(self, pattern: Any, data: Any, timeout: float | None) -> Any:
        request_id, route, payload, options = self._prepare(pattern, data, timeout)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[request_id] = pending = PendingRequest(route, future, pattern=pattern)
        limit = None if timeout == math.inf else timeout
        try:
            if self._publish_now(route, payload, options):
                # The fast path: sent already; a deadline bounds the wait for the reply
                # (cheaper than an asyncio.timeout() block, on the path that matters).
                pending.sent = True
                if limit is None:
                    return await future
                deadlines = self._deadlines
                if deadlines is None or deadlines.loop is not loop:
                    deadlines = self._deadlines = Deadlines(loop, self._expire)
                deadlines.add(pending, limit)
                try:
                    return await future
                finally:
                    deadlines.discard(pending, limit)
            if limit is None:
                await self._send(pending, route, payload, options)
                return await future
            # The timeout bounds the whole request: connecting (or reconnecting), the reply
            # subscription and the publish, not only the wait for the reply.
            deadline = asyncio.timeout(limit)
            try:
                async with deadline:
                    await self._send(pending, route, payload, options)
                    return await future
            except TimeoutError:
                if deadline.expired():
                    raise self._timeout_error(pattern, limit, pending) from None
                raise
        finally:
            self._pending.pop(request_id, None)

    def _expire(self, pending: Any, timeout: float) -> None:
        future = pending.future
        if future is not None and not future.done():
            future.set_exception(self._timeout_error(pending.pattern, timeout, pending))

    async def _request_stream(
        self, pattern: Any, data: Any, timeout: float | None
    ) -> AsyncIterator[Any]:
        request_id, route, payload, options = self._prepare(pattern, data, timeout)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending[request_id] = pending = PendingRequest(route, None, queue)
        if timeout == math.inf:
            timeout = None
        try:
            deadline = asyncio.timeout(timeout)
            try:
                async with deadline:
                    await self._send(pending, route, payload, options)
            except TimeoutError:
                if deadline.expired():
                    raise self._timeout_error(pattern, timeout or 0, pending) from None
                raise
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    raise self._timeout_error(pattern, timeout or 0, pending) from None
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._pending.pop(request_id, None)


def _log_emit_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.warning("An event could not be published: %s", exc)
