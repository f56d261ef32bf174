"""The transport-agnostic server: handler table, routing, request/event dispatch, replies.

A transport subclass subscribes the handler routes, feeds every received message to
``handle_packet`` and publishes the reply packets it is given; everything between (decoding,
lookup, calling the handler, streaming, errors, the backlog) happens here, once for every
transport.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, ClassVar

from nestpy.microservices.codec import (
    IncomingRequest,
    InvalidUtf8Error,
    decode_bare,
    decode_request,
    encode_no_handler,
    encode_response,
    incoming_request,
)
from nestpy.microservices.completion import (
    DoneFn,
    Job,
    Outcome,
    ReplyFn,
    answer,
    finish,
    split_done,
)
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import RpcException, error_payload
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.handler_errors import (
    INVALID_UTF8_MESSAGE,
    SHUTDOWN_MESSAGE,
    Throttled,
    event_failed,
    handler_error,
    no_event_handler_message,
    overloaded_message,
)
from nestpy.microservices.patterns import route_from_channel
from nestpy.microservices.streams import send_async_stream, send_sync_stream
from nestpy.microservices.transports import Transport

__all__ = [
    "SHUTDOWN_MESSAGE",
    "DoneFn",
    "HandlerEntry",
    "Outcome",
    "ReplyFn",
    "Server",
    "no_event_handler_message",
]

logger = logging.getLogger("nestpy.microservices.server")

HandlerEntry = MessageHandler | list[MessageHandler]
_PLAIN_RESULTS = frozenset({int, float, str, bool, type(None), dict, list, tuple, bytes})


def _data(handler: MessageHandler, packet: IncomingRequest) -> Any:
    """What ``handler`` receives: the raw bytes when it asks for them (``envelope=False``)."""
    if handler.wants_bytes and packet.raw is not None:
        return packet.raw
    return packet.data


class Server(ABC):
    """Base class of every transport's server (Nest's ``Server``).

    Subclasses implement ``listen`` and ``close`` and may refine ``match_route`` (MQTT adds
    wildcards and shared subscriptions). ``max_concurrency`` bounds how many handler calls run
    at once; messages beyond it wait in arrival order in a backlog, bounded by ``max_backlog``:
    beyond that a request gets an immediate "Service overloaded" error reply and an event is
    dropped (logged). ``handler_timeout`` (seconds) is the default time a non-inline handler
    may take to reply, counted from the message's arrival, the wait in the backlog included
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
        max_backlog: int | None = None,
    ) -> None:
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("handler_timeout", handler_timeout),
            ("max_payload_bytes", max_payload_bytes),
        ):
            if value is not None and value <= 0:
                msg = f"{name} must be positive (or None for no limit), not {value!r}"
                raise ValueError(msg)
        if max_backlog is not None and max_backlog < 0:
            msg = f"max_backlog must be 0 or more (or None for no limit), not {max_backlog!r}"
            raise ValueError(msg)
        if max_backlog is not None and max_concurrency is None:
            msg = (
                "max_backlog bounds the messages waiting for one of max_concurrency handler "
                "slots: set max_concurrency too"
            )
            raise ValueError(msg)
        self._entries: dict[str, HandlerEntry] = {}
        self._tasks: dict[asyncio.Task[Outcome | None], Job] = {}
        self._backlog: deque[Job] = deque()
        self._max_concurrency = max_concurrency
        self.max_backlog = max_backlog
        self.handler_timeout = handler_timeout
        self.max_payload_bytes = max_payload_bytes
        self._accepting = True
        self._shed_log = Throttled("Service overloaded: shed messages over max_backlog")
        self._expired_log = Throttled("Dropped expired messages before running them")
        self.deserializer: Any = None
        """Decodes what arrives on enveloped patterns (``deserialize(payload, {"channel": ...})``
        returning an ``IncomingRequest`` or a ``{"pattern", "data", "id"}`` mapping); None:
        Nest's envelope (``decode_request``). See ``nestpy.microservices.serializers``."""

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

    @property
    def backlog_size(self) -> int:
        """How many messages wait for a free ``max_concurrency`` slot."""
        return len(self._backlog)

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

        Messages still in the backlog are not run (their ``done`` gets ``NOT_TAKEN``). Handlers
        still running then are cancelled, and their callers get an error reply
        (``SHUTDOWN_MESSAGE``) instead of waiting for their own timeout.
        """
        backlog, self._backlog = self._backlog, deque()
        for job in backlog:
            finish(job.done, Outcome.NOT_TAKEN)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for job in self._backlog:  # queued meanwhile by handlers still finishing
            finish(job.done, Outcome.NOT_TAKEN)
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
        done: DoneFn | None = None,
        *,
        expires_in: float | None = None,
        request_id: Any = None,
    ) -> None:
        """Handle one received message. Never raises: one bad message cannot stop the server.

        ``done`` (see ``DoneFn``) is called exactly once when the message's handling is over,
        whatever the outcome; a message waiting in the backlog is not over. ``expires_in``
        (seconds, e.g. MQTT 5's Message Expiry Interval): a message still waiting in the
        backlog by then is dropped without running. ``request_id``: the transport marks the
        message as a request (MQTT 5: it has a Response Topic); a payload without Nest's
        envelope is then a request with this id, answered through ``reply``.
        """
        if not self._accepting:
            logger.warning("Shutting down: a message on %r was not taken", channel)
            finish(done, Outcome.NOT_TAKEN)
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
            finish(done, Outcome.SKIPPED)
            return
        handed_off = False
        try:
            route = route_from_channel(channel)
            entry = self.get_handler(route)
            first = entry[0] if isinstance(entry, list) else entry
            try:
                if self.deserializer is None and (first is None or first.envelope):
                    packet = decode_request(payload, channel, request_id)
                else:
                    packet = self._decode(payload, channel, first, request_id)
            except RecursionError:
                logger.warning("Dropped a message on %r: its JSON is nested too deeply", channel)
                finish(done, Outcome.SKIPPED)
                return
            except InvalidUtf8Error as exc:
                self._invalid_utf8(channel, exc, reply)
                finish(done, Outcome.SKIPPED)
                return
            except Exception as exc:
                self._undecodable(channel, exc, reply, request_id)
                finish(done, Outcome.SKIPPED)
                return
            handed_off = True
            if packet.id is None:
                self._handle_event(route, entry, packet, context, done, expires_in)
            elif entry is None:
                reply(encode_no_handler(packet.id))
                finish(done, Outcome.SKIPPED)
            elif isinstance(entry, list):
                self._spawn(
                    lambda job: self._run_event_request(entry, packet, context, reply, job),
                    packet,
                    done,
                    expires_in,
                    reply,
                )
            elif entry.is_inline:
                self._reply_inline(entry, packet, context, reply, done)
            else:
                self._spawn(
                    lambda job: self._run_request(entry, packet, context, reply, job),
                    packet,
                    done,
                    expires_in,
                    reply,
                )
        except Exception:
            logger.exception("Dropped a message on %r that could not be handled", channel)
            if not handed_off:
                finish(done, Outcome.SKIPPED)

    def _decode(
        self,
        payload: bytes | bytearray,
        channel: str,
        first: MessageHandler | None,
        request_id: Any,
    ) -> IncomingRequest:
        if first is not None and not first.envelope:
            return decode_bare(payload, channel, request_id)
        deserializer = self.deserializer
        if deserializer is None:
            return decode_request(payload, channel, request_id)
        return incoming_request(
            deserializer.deserialize(payload, {"channel": channel}), channel, request_id
        )

    @staticmethod
    def _undecodable(channel: str, exc: Exception, reply: ReplyFn, request_id: Any) -> None:
        """A deserializer failed: logged once; a request with somewhere to answer gets an error."""
        cause = f"{type(exc).__name__}: {exc}"
        if request_id is None:
            logger.warning(
                "Dropped a message on %r: it could not be deserialized (%s)", channel, cause
            )
            return
        logger.warning(
            "Answered a request on %r with an error: it could not be deserialized (%s)",
            channel,
            cause,
        )
        error = error_payload(RpcException(f"The request could not be deserialized: {cause}"))
        reply(encode_response(request_id, err=error, is_disposed=True))

    @staticmethod
    def _invalid_utf8(channel: str, exc: InvalidUtf8Error, reply: ReplyFn) -> None:
        if exc.request_id is None:
            logger.warning(
                "Dropped a message on %r: it is not valid UTF-8 and has no readable id to answer",
                channel,
            )
            return
        logger.warning(
            "Answered request %r on %r with an error: its payload is not valid UTF-8",
            exc.request_id,
            channel,
        )
        error = error_payload(RpcException(INVALID_UTF8_MESSAGE))
        reply(encode_response(exc.request_id, err=error, is_disposed=True))

    def _reply_inline(
        self,
        handler: MessageHandler,
        packet: IncomingRequest,
        ctx: BaseRpcContext,
        reply: ReplyFn,
        done: DoneFn | None,
    ) -> None:
        try:
            result = handler.call_inline(_data(handler, packet), ctx)
            if type(result) not in _PLAIN_RESULTS:  # a plain value is neither of these
                if inspect.isgenerator(result):
                    send_sync_stream(result, packet, reply, handler, answer(done, reply))
                    return
                if inspect.isawaitable(result):
                    # The handler has run already: this job is never shed.
                    self._spawn(
                        lambda job: self._send_result(
                            result, packet, reply, handler, job.answer(reply)
                        ),
                        packet,
                        done,
                        None,
                        reply,
                        sheddable=False,
                    )
                    return
            message = encode_response(packet.id, response=result, is_disposed=True)
        except Exception as exc:
            err = handler_error(exc, handler, packet)
            message = encode_response(packet.id, err=err, is_disposed=True)
        finish(done)  # the handler has returned: acknowledged in the reply's write, ahead
        reply(message)

    def _timeout_of(self, handler: MessageHandler) -> float | None:
        return handler.timeout if handler.timeout is not None else self.handler_timeout

    async def _run_request(
        self,
        handler: MessageHandler,
        packet: IncomingRequest,
        ctx: BaseRpcContext,
        reply: ReplyFn,
        job: Job,
    ) -> Outcome | None:
        timeout = self._timeout_of(handler)
        deadline = None if timeout is None else job.received + timeout
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            # Its whole time went waiting in the backlog: the caller is answered, not run.
            job.settle(Outcome.SKIPPED)
            self._timed_out(handler, packet, reply, timeout, " waiting for a free handler slot")
            return Outcome.SKIPPED
        last = job.answer(reply)
        try:
            async with asyncio.timeout_at(deadline):
                try:
                    result = await handler.invoke(_data(handler, packet), ctx, packet.pattern)
                except Exception as exc:
                    err = handler_error(exc, handler, packet)
                    last(encode_response(packet.id, err=err, is_disposed=True))
                    return None
                await self._send_result(result, packet, reply, handler, last)
        except TimeoutError:
            self._timed_out(handler, packet, last, timeout, "")
        except asyncio.CancelledError:
            if not self._accepting:  # abandoned by drain(): tell the caller
                error = error_payload(RpcException(SHUTDOWN_MESSAGE))
                reply(encode_response(packet.id, err=error, is_disposed=True))
            raise
        return None

    @staticmethod
    def _timed_out(
        handler: MessageHandler,
        packet: IncomingRequest,
        reply: ReplyFn,
        timeout: float | None,
        where: str,
    ) -> None:
        message = f"Handler timed out after {timeout:g} s"
        logger.warning("%s: %s%s (request %r)", handler.method_name, message, where, packet.id)
        error = error_payload(RpcException(message))
        reply(encode_response(packet.id, err=error, is_disposed=True))

    async def _send_result(
        self,
        result: Any,
        packet: IncomingRequest,
        reply: ReplyFn,
        handler: MessageHandler,
        last: ReplyFn,
    ) -> None:
        """Send a handler's result: ``reply`` for stream values, ``last`` for the final packet."""
        request_id = packet.id
        try:
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, AsyncIterator):
                await send_async_stream(result, request_id, reply, last)
            elif inspect.isgenerator(result):
                send_sync_stream(result, packet, reply, handler, last)
            else:
                last(encode_response(request_id, response=result, is_disposed=True))
        except Exception as exc:
            err = handler_error(exc, handler, packet)
            last(encode_response(request_id, err=err, is_disposed=True))

    def _handle_event(
        self,
        route: str,
        entry: HandlerEntry | None,
        packet: IncomingRequest,
        ctx: BaseRpcContext,
        done: DoneFn | None,
        expires_in: float | None,
    ) -> None:
        if entry is None:
            logger.error(no_event_handler_message(route))
            finish(done, Outcome.SKIPPED)
            return
        handlers = entry if isinstance(entry, list) else (entry,)
        spawned = []
        for handler in handlers:
            if not handler.is_inline:
                spawned.append(handler)
                continue
            try:
                handler.call_inline(_data(handler, packet), ctx)
            except Exception as exc:
                event_failed(handler, packet, exc)
        if not spawned:  # the usual: plain def handlers, run already
            finish(done)
            return
        part = split_done(done, len(spawned))
        for handler in spawned:
            self._spawn(
                lambda job, h=handler: self._run_event(h, packet, ctx, job),  # type: ignore[misc]
                packet,
                part,
                expires_in,
                None,
            )

    async def _run_event(
        self,
        handler: MessageHandler,
        packet: IncomingRequest,
        ctx: Any,
        job: Job,
        *,
        settle: bool = True,
    ) -> Outcome | None:
        timeout = self._timeout_of(handler)
        deadline = None if timeout is None else job.received + timeout
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            logger.warning(
                "Event handler %s not run: the event waited %g s (its timeout) for a free "
                "handler slot",
                handler.method_name,
                timeout,
            )
            if settle:
                job.settle(Outcome.SKIPPED)
            return Outcome.SKIPPED
        try:
            async with asyncio.timeout_at(deadline):
                result = await handler.invoke(_data(handler, packet), ctx, packet.pattern)
                if isinstance(result, AsyncIterator):
                    async for _ in result:
                        pass
                elif inspect.isawaitable(result):
                    await result
        except TimeoutError:
            logger.warning("Event handler %s timed out after %g s", handler.method_name, timeout)
        except Exception as exc:
            event_failed(handler, packet, exc)
        if settle:  # now, not in a later loop iteration: the acknowledgement leaves sooner
            job.settle()
        return None

    async def _run_event_request(
        self,
        handlers: list[MessageHandler],
        packet: IncomingRequest,
        ctx: Any,
        reply: ReplyFn,
        job: Job,
    ) -> None:
        # A request that reaches event handlers completes with no value, as in Nest.
        await asyncio.gather(
            *(self._run_event(h, packet, ctx, job, settle=False) for h in handlers)
        )
        job.answer(reply)(encode_response(packet.id, is_disposed=True))

    # -- concurrency ---------------------------------------------------------------------------

    def _spawn(
        self,
        run: Callable[[Job], Coroutine[Any, Any, Outcome | None]],
        packet: IncomingRequest,
        done: DoneFn | None,
        expires_in: float | None,
        reply: ReplyFn | None,
        *,
        sheddable: bool = True,
    ) -> None:
        """Run a handler call now, or queue it in the backlog, or shed it (``max_backlog``):
        a request (``reply`` given) gets the overload error, an event a logged drop."""
        now = asyncio.get_running_loop().time()
        expires = None if expires_in is None else now + expires_in
        job = Job(run, packet, done, now, expires)
        limit = self._max_concurrency
        if limit is not None and len(self._tasks) >= limit:
            backlog = self.max_backlog
            if backlog is not None and len(self._backlog) >= backlog and sheddable:
                self._shed(packet, reply)
                finish(done, Outcome.SKIPPED)
                return
            self._backlog.append(job)
            return
        self._start(job)

    def _shed(self, packet: IncomingRequest, reply: ReplyFn | None) -> None:
        if reply is None:
            self._shed_log.report(f"event {packet.pattern!r} dropped")
            return
        self._shed_log.report(f"request {packet.id!r} ({packet.pattern!r}) answered with an error")
        error = error_payload(RpcException(overloaded_message(len(self._backlog))))
        reply(encode_response(packet.id, err=error, is_disposed=True))

    def _start(self, job: Job) -> None:
        task = asyncio.get_running_loop().create_task(job.run(job))
        self._tasks[task] = job
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[Outcome | None]) -> None:
        job = self._tasks.pop(task, None)
        if job is not None and job.done is not None:
            if task.cancelled():
                outcome = Outcome.NOT_TAKEN
            else:
                outcome = (None if task.exception() else task.result()) or Outcome.HANDLED
            job.settle(outcome)
        self._start_waiting()

    def _start_waiting(self) -> None:
        limit = self._max_concurrency
        backlog = self._backlog
        while backlog and (limit is None or len(self._tasks) < limit):
            job = backlog.popleft()
            if job.expires is not None and asyncio.get_running_loop().time() >= job.expires:
                packet = job.packet
                self._expired_log.report(f"pattern {packet.pattern!r}, request id {packet.id!r}")
                finish(job.done, Outcome.SKIPPED)
                continue
            self._start(job)
