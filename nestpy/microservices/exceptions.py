"""Microservice errors, and how a handler's exception becomes Nest's ``err`` payload."""

from __future__ import annotations

import logging
from typing import Any

from nestpy.errors import NestpyError

logger = logging.getLogger("nestpy.RpcExceptionsHandler")

UNKNOWN_EXCEPTION_MESSAGE = "Internal server error"
INVALID_MESSAGE = "The invalid data or message pattern (undefined/null)"


class RpcException(Exception):
    """Raise in a handler to send ``error`` back to the caller.

    ``RpcException("bad")`` reaches the caller as ``{"status": "error", "message": "bad"}``;
    ``RpcException({"code": 7})`` reaches it unchanged. A client raises ``RpcException`` too when a
    reply carries an error, with the error exactly as the service sent it in ``error``.
    """

    def __init__(self, error: str | dict[str, Any] | Any) -> None:
        self.error = error
        super().__init__(self._message(error))

    @staticmethod
    def _message(error: Any) -> str:
        if isinstance(error, str):
            return error
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        return str(error)

    def get_error(self) -> Any:
        """The error as given (a string or an object), as in Nest."""
        return self.error


class InvalidMessageError(NestpyError, ValueError):
    """``send``/``emit`` was given a None pattern or None data."""

    def __init__(self) -> None:
        super().__init__(INVALID_MESSAGE)


class ConnectionLostError(NestpyError, ConnectionError):
    """The connection dropped while a request was waiting for its reply."""


class RequestTimeoutError(NestpyError, TimeoutError):
    """No complete reply arrived within the request's timeout."""

    def __init__(self, pattern: Any, timeout: float, *, unsent_reason: str | None = None) -> None:
        self.pattern = pattern
        self.timeout = timeout
        self.sent = unsent_reason is None
        """False when the request never left the client (``unsent_reason`` says why)."""
        if unsent_reason is not None:
            super().__init__(
                f"No reply to {pattern!r} within {timeout:g} s: the request was never sent, "
                f"{unsent_reason}. Raise the timeout with send(..., timeout=...) or the "
                "client's request_timeout option to wait longer for the connection."
            )
            return
        super().__init__(
            f"No reply to {pattern!r} within {timeout:g} s. Is a service subscribed to this "
            "pattern and connected to the same broker? Raise the timeout with "
            "send(..., timeout=...) or the client's request_timeout option."
        )


def error_payload(exc: BaseException) -> Any:
    """The ``err`` value Nest's ``BaseRpcExceptionFilter`` sends for ``exc``."""
    if isinstance(exc, RpcException):
        error = exc.get_error()
        if isinstance(error, str):
            return {"status": "error", "message": error}
        if isinstance(error, dict):
            return error
        return {"status": "error", "message": str(error)}
    logger.error("Unhandled exception in a message handler", exc_info=exc)
    return {"status": "error", "message": UNKNOWN_EXCEPTION_MESSAGE}
