"""What the server says when a message cannot be handled: error texts sent to callers,
and the log lines for handler failures (Nest's ``RpcExceptionsHandler``) and shed messages."""

from __future__ import annotations

import logging
import time
from typing import Any

from nestpy.microservices.codec import IncomingRequest
from nestpy.microservices.exceptions import UNKNOWN_EXCEPTION_MESSAGE, RpcException, error_payload
from nestpy.microservices.handler import MessageHandler

__all__ = [
    "INVALID_UTF8_MESSAGE",
    "SHUTDOWN_MESSAGE",
    "Throttled",
    "event_failed",
    "handler_error",
    "no_event_handler_message",
    "overloaded_message",
]

logger = logging.getLogger("nestpy.microservices.server")
_rpc_logger = logging.getLogger("nestpy.RpcExceptionsHandler")


SHUTDOWN_MESSAGE = "The service shut down before the handler finished"
INVALID_UTF8_MESSAGE = (
    "The request is not valid UTF-8: JSON text must be UTF-8 encoded (fix the sender's encoding)"
)


def overloaded_message(waiting: int) -> str:
    """The error a request shed by ``max_backlog`` gets."""
    return (
        f"Service overloaded: {waiting} messages are already waiting for a handler "
        "(max_backlog); try again later"
    )


def no_event_handler_message(route: str) -> str:
    """Nest's log line for an event that no handler matches."""
    return (
        f"There is no matching event handler defined in the remote service. Event pattern: {route}"
    )


def handler_error(exc: Exception, handler: MessageHandler | None, packet: IncomingRequest) -> Any:
    """The ``err`` payload for ``exc``; an unexpected exception is logged with where it came
    from (handler, pattern, request id), as Nest's ``RpcExceptionsHandler`` logs it."""
    if isinstance(exc, RpcException):
        return error_payload(exc)
    name = handler.method_name if handler is not None else "?"
    _rpc_logger.error(
        "Unhandled exception in message handler %s (pattern %r, request id %r)",
        name,
        packet.pattern,
        packet.id,
        exc_info=exc,
    )
    return {"status": "error", "message": UNKNOWN_EXCEPTION_MESSAGE}


def event_failed(handler: MessageHandler, packet: IncomingRequest, exc: Exception) -> None:
    """Log an event handler's error, which nobody receives; an ``RpcException`` (a validation
    failure, a guard's refusal) too, which Nest drops silently."""
    if isinstance(exc, RpcException):
        logger.warning(
            "Event handler %s failed (pattern %r): %s",
            handler.method_name,
            packet.pattern,
            exc.get_error(),
        )
    else:
        _rpc_logger.error(
            "Unhandled exception in event handler %s (pattern %r)",
            handler.method_name,
            packet.pattern,
            exc_info=exc,
        )


class Throttled:
    """Logs a recurring warning at most once per ``interval`` seconds, with a count."""

    def __init__(self, text: str, interval: float = 5.0) -> None:
        self.text = text
        self.interval = interval
        self._count = 0
        self._last = -interval

    def report(self, detail: str) -> None:
        """Count one occurrence; log (with the count) when the interval has passed."""
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            logger.warning(
                "%s (%d since the last report; latest: %s)", self.text, self._count, detail
            )
            self._count = 0
            self._last = now
