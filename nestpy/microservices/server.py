"""The transport-agnostic server: handler table, routing, request/event dispatch, replies.

A transport subclass subscribes the handler routes, feeds every received message to
``handle_packet`` and publishes the reply packets it is given; everything between (decoding,
lookup, calling the handler, streaming, errors) happens here, once for every transport.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, ClassVar

from nestpy.microservices.codec import (
    IncomingRequest,
    decode_request,
    encode_no_handler,
    encode_response,
)
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import RpcException, error_payload
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.patterns import route_from_channel
from nestpy.microservices.transports import Transport

logger = logging.getLogger("nestpy.microservices.server")

ReplyFn = Callable[[bytes], object]
"""Publishes one reply packet to where the request came from."""

HandlerEntry = MessageHandler | list[MessageHandler]

SHUTDOWN_MESSAGE = "The service shut down before the handler finished"


def no_event_handler_message(route: str) -> str:
    """Nest's log line for an event that no handler matches."""
    return (
        f"There is no matching event handler defined in the remote service. Event pattern: {route}"
    )


def _event_failed(handler: MessageHandler, exc: Exception) -> None:
    # Nobody receives an event handler's error: log it, RpcException (a validation failure,
    # a guard's refusal) included, which Nest drops silently.
    if isinstance(exc, RpcException):
        logger.warning("Event handler %s failed: %s", handler.method_name, exc.get_error())
    else:
        error_payload(exc)  # logged by the RpcExceptionsHandler logger, as in Nest


class Server(ABC):
    """Base class of every transport's server (Nest's ``Server``).

    Subclasses implement ``listen`` and ``close`` and may refine ``match_route`` (MQTT adds
    wildcards and shared subscriptions). ``max_concurrency`` bounds how many handler calls run
    at once; messages beyond it wait in arrival order instead of piling up tasks.
    ``handler_timeout`` (seconds) is the default time a non-inline handler may take to reply
    (``@MessagePattern(..., timeout=)`` overrides it). ``max_payload_bytes`` drops, unparsed
    and with a warning, every message larger than that.
    """

    transport_id: ClassVar[Transport | None] = None

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        handler_timeout: float | None = None,
        max_payload_bytes: int | None = None,
    ) -> None:
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("handler_timeout", handler_timeout),
            ("max_payload_bytes", max_payload_bytes),
        ):
            if value is not None and value <= 0:
                msg = f"{name} must be positive (or None for no limit), not {value!r}"
                raise ValueError(msg)
        self._entries: dict[str, HandlerEntry] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._backlog: deque[Callable[[], Coroutine[Any, Any, None]]] = deque()
        self._max_concurrency = max_concurrency
        self.handler_timeout = handler_timeout
        self.max_payload_bytes = max_payload_bytes
        self._accepting = True

    # -- handler table -------------------------------------------------------------------------

    def add_handler(self, handler: MessageHandler) -> None:
        """Register a handler; event handlers on one route accumulate, message handlers replace."""
        current = self._entries.get(handler.route)
        if handler.is_event and isinstance(current, list):
            current.append(handler)
        else:
            self._entries[handler.route] = [handler] if handler.is_event else handler

    @property
    def handlers(self) -> dict[str, HandlerEntry]:
        """Every route with its handler (or handlers, for events), in registration order."""
        return self._entries

    def match_route(self, route: str) -> str | None:
        """The registered route that handles ``route``; exact matches only in the base class."""
        return route if route in self._entries else None

    def get_handler(self, route: str) -> HandlerEntry | None:
        """The handler entry for a received route, or None."""
        key = self.match_route(route)
        return None if key is None else self._entries[key]

    # -- lifecycle -----------------------------------------------------------------------------

    @abstractmethod
    async def listen(self) -> None:
        """Connect, subscribe every route, and start delivering messages to ``handle_packet``."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving, let in-flight handlers finish, and disconnect."""

    def stop_accepting(self) -> None:
        """Ignore messages from now on (used while draining at shutdown)."""
        self._accepting = False

    async def drain(self, timeout: float | None) -> int:
        """Wait for in-flight handlers, at most ``timeout`` seconds; returns how many were left.

        Handlers still running then are cancelled, and their callers get an error reply
        (``SHUTDOWN_MESSAGE``) instead of waiting for their own timeout.
        """
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        self._backlog.clear()
        left = len(self._tasks)
        if left:
            logger.warning("Shutdown: %d message(s) still being handled were abandoned", left)
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(set(self._tasks), timeout=1.0)
        return left

    # -- dispatch ------------------------------------------------------------------------------

    def handle_packet(
        self,
        channel: str,
        payload: bytes | bytearray,
        context: BaseRpcContext,
        reply: ReplyFn,
    ) -> None:
        """Handle one received message. Never raises: one bad message cannot stop the server."""
        if not self._accepting:
            logger.warning("Shutting down: a message on %r was not taken", channel)
            return
        limit = self.max_payload_bytes
        if limit is not None and len(payload) > limit:
            # Not parsed (that is the point of the limit), so there is no id to answer.
            logger.warning(
                "Dropped a message on %r: %d bytes is over max_payload_bytes (%d)",
                channel,
                len(payload),
                limit,
            )
            return
        try:
            try:
                packet = decode_request(payload, channel)
            except RecursionError:
                logger.warning("Dropped a message on %r: its JSON is nested too deeply", channel)
                return
            route = route_from_channel(channel)
            entry = self.get_handler(route)
            if packet.id is None:
                self._handle_event(route, entry, packet, context)
            elif entry is None:
                reply(encode_no_handler(packet.id))
            elif isinstance(entry, list):
                self._spawn(lambda: self._run_event_request(entry, packet, context, reply))
            elif entry.is_inline:
                self._reply_inline(entry, packet, context, reply)
            else:
                self._spawn(lambda: self._run_request(entry, packet, context, reply))
        except Exception:
            logger.exception("Dropped a message on %r that could not be handled", channel)

    def _reply_inline(
        self, handler: MessageHandler, packet: IncomingRequest, ctx: BaseRpcContext, reply: ReplyFn
    ) -> None:
        try:
            result = handler.call_inline(packet.data, ctx)
            if inspect.isgenerator(result):
                self._send_sync_stream(result, packet.id, reply)
                return
            if inspect.isawaitable(result):
                self._spawn(lambda: self._send_result(result, packet.id, reply))
                return
            message = encode_response(packet.id, response=result, is_disposed=True)
        except Exception as exc:
            message = encode_response(packet.id, err=error_payload(exc), is_disposed=True)
        reply(message)

    def _timeout_of(self, handler: MessageHandler) -> float | None:
        return handler.timeout if handler.timeout is not None else self.handler_timeout

    async def _run_request(
        self, handler: MessageHandler, packet: IncomingRequest, ctx: BaseRpcContext, reply: ReplyFn
    ) -> None:
        timeout = self._timeout_of(handler)
        try:
            async with asyncio.timeout(timeout):
                try:
                    result = await handler.invoke(packet.data, ctx, packet.pattern)
                except Exception as exc:
                    reply(encode_response(packet.id, err=error_payload(exc), is_disposed=True))
                    return
                await self._send_result(result, packet.id, reply)
        except TimeoutError:
            message = f"Handler timed out after {timeout:g} s"
            logger.warning("%s: %s (request %r)", handler.method_name, message, packet.id)
            error = error_payload(RpcException(message))
            reply(encode_response(packet.id, err=error, is_disposed=True))
        except asyncio.CancelledError:
            if not self._accepting:  # abandoned by drain(): tell the caller
                error = error_payload(RpcException(SHUTDOWN_MESSAGE))
                reply(encode_response(packet.id, err=error, is_disposed=True))
            raise

    async def _send_result(self, result: Any, request_id: Any, reply: ReplyFn) -> None:
        try:
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, AsyncIterator):
                await self._send_async_stream(result, request_id, reply)
            elif inspect.isgenerator(result):
                self._send_sync_stream(result, request_id, reply)
            else:
                reply(encode_response(request_id, response=result, is_disposed=True))
        except Exception as exc:
            reply(encode_response(request_id, err=error_payload(exc), is_disposed=True))

    @staticmethod
    async def _send_async_stream(
        stream: AsyncIterator[Any], request_id: Any, reply: ReplyFn
    ) -> None:
        # Each value goes out as it is produced; completion is a separate packet, exactly as
        # Nest sends an asynchronous observable.
        async for value in stream:
            reply(encode_response(request_id, response=value))
        reply(encode_response(request_id, is_disposed=True))

    @staticmethod
    def _send_sync_stream(stream: Iterator[Any], request_id: Any, reply: ReplyFn) -> None:
        # A generator is Nest's synchronous ``from([...])``: isDisposed rides on the last value.
        # Each value is held back until the next one exists; if the generator raises, the held
        # value still goes out, then the error (Nest: {"response":1,"id"}, {"err":...}).
        sentinel = object()
        previous = next(stream, sentinel)  # an error here is the caller's to send
        if previous is sentinel:
            reply(encode_response(request_id, is_disposed=True))
            return
        try:
            for value in stream:
                reply(encode_response(request_id, response=previous))
                previous = value
        except Exception as exc:
            reply(encode_response(request_id, response=previous))
            reply(encode_response(request_id, err=error_payload(exc), is_disposed=True))
            return
        reply(encode_response(request_id, response=previous, is_disposed=True))

    def _handle_event(
        self, route: str, entry: HandlerEntry | None, packet: IncomingRequest, ctx: BaseRpcContext
    ) -> None:
        if entry is None:
            logger.error(no_event_handler_message(route))
            return
        for handler in entry if isinstance(entry, list) else [entry]:
            if handler.is_inline:
                try:
                    handler.call_inline(packet.data, ctx)
                except Exception as exc:
                    _event_failed(handler, exc)
            else:
                self._spawn(lambda h=handler: self._run_event(h, packet, ctx))  # type: ignore[misc]

    async def _run_event(self, handler: MessageHandler, packet: IncomingRequest, ctx: Any) -> None:
        timeout = self._timeout_of(handler)
        try:
            async with asyncio.timeout(timeout):
                result = await handler.invoke(packet.data, ctx, packet.pattern)
                if isinstance(result, AsyncIterator):
                    async for _ in result:
                        pass
                elif inspect.isawaitable(result):
                    await result
        except TimeoutError:
            logger.warning("Event handler %s timed out after %g s", handler.method_name, timeout)
        except Exception as exc:
            _event_failed(handler, exc)

    async def _run_event_request(
        self, handlers: list[MessageHandler], packet: IncomingRequest, ctx: Any, reply: ReplyFn
    ) -> None:
        # A request that reaches event handlers completes with no value, as in Nest.
        await asyncio.gather(*(self._run_event(h, packet, ctx) for h in handlers))
        reply(encode_response(packet.id, is_disposed=True))

    # -- concurrency ---------------------------------------------------------------------------

    def _spawn(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        limit = self._max_concurrency
        if limit is not None and len(self._tasks) >= limit:
            self._backlog.append(job)
            return
        task = asyncio.get_running_loop().create_task(job())
        self._tasks.add(task)
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._backlog:
            self._spawn(self._backlog.popleft())
