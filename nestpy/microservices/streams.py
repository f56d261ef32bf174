"""Sending a handler's stream as Nest does: an async iterator is Nest's asynchronous observable
(completion in its own packet), a generator its synchronous ``from([...])`` (``isDisposed``
on the last value)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from nestpy.microservices.codec import IncomingRequest, encode_response
from nestpy.microservices.completion import ReplyFn
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.handler_errors import handler_error

__all__ = ["send_async_stream", "send_sync_stream"]


async def send_async_stream(
    stream: AsyncIterator[Any], request_id: Any, reply: ReplyFn, last: ReplyFn
) -> None:
    """Send each value as it is produced; completion is a separate packet (``last``), exactly
    as Nest sends an asynchronous observable."""
    async for value in stream:
        reply(encode_response(request_id, response=value))
    last(encode_response(request_id, is_disposed=True))


def send_sync_stream(
    stream: Iterator[Any],
    packet: IncomingRequest,
    reply: ReplyFn,
    handler: MessageHandler,
    last: ReplyFn,
) -> None:
    """Send a generator as Nest's synchronous ``from([...])``: isDisposed rides on the last
    value. Each value is held back until the next one exists; if the generator raises, the held
    value still goes out, then the error (Nest: ``{"response":1,"id"}``, ``{"err":...}``)."""
    request_id = packet.id
    sentinel = object()
    previous = next(stream, sentinel)  # an error here is the caller's to send
    if previous is sentinel:
        last(encode_response(request_id, is_disposed=True))
        return
    try:
        for value in stream:
            reply(encode_response(request_id, response=previous))
            previous = value
    except Exception as exc:
        reply(encode_response(request_id, response=previous))
        err = handler_error(exc, handler, packet)
        last(encode_response(request_id, err=err, is_disposed=True))
        return
    last(encode_response(request_id, response=previous, is_disposed=True))
