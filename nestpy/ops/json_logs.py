"""Logs for machines: one JSON object per line, and a line per message handled.

``enable_json_logs()`` (``nestpy run --log-format json``) formats every record as JSON and
logs each handler call on the ``nestpy.messages`` logger with its pattern, topic, request id,
duration and outcome.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.handler import MessageHandler
from nestpy.ops import dispatch_hooks

__all__ = ["JsonFormatter", "MessageLog", "enable_json_logs"]

MESSAGE_FIELDS = ("pattern", "topic", "request_id", "kind", "duration_ms", "outcome")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "pid", "message", ...}``; message fields when present."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON for ``record``."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": os.getpid(),
            "message": record.getMessage(),
        }
        for name in MESSAGE_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _request_id(context: BaseRpcContext) -> Any:
    get_packet = getattr(context, "get_packet", None)
    if get_packet is None:
        return None
    try:
        packet = json.loads(get_packet().payload)
    except Exception:
        return None
    return packet.get("id") if isinstance(packet, dict) else None


class MessageLog:
    """A ``DispatchObserver`` logging one record per handler call on ``nestpy.messages``."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("nestpy.messages")

    def handled(
        self, handler: MessageHandler, context: BaseRpcContext, seconds: float, outcome: str
    ) -> None:
        """Log the call (INFO; WARNING when it failed)."""
        logger = self.logger
        level = logging.INFO if outcome == "success" else logging.WARNING
        if not logger.isEnabledFor(level):
            return
        get_topic = getattr(context, "get_topic", None)
        fields = {
            "pattern": handler.route,
            "topic": get_topic() if get_topic is not None else None,
            "request_id": _request_id(context),
            "kind": "event" if handler.is_event else "request",
            "duration_ms": round(seconds * 1000, 3),
            "outcome": outcome,
        }
        logger.log(level, "%s %s %s", handler.route, outcome, handler.method_name, extra=fields)

    def requested(self, route: str, seconds: float, outcome: str) -> None:
        """Client requests are not logged per line."""

    def emitted(self, route: str) -> None:
        """Events sent are not logged per line."""


_message_log: MessageLog | None = None


def enable_json_logs(level: str = "INFO") -> MessageLog:
    """Format every log record as JSON on stderr and log each message handled."""
    global _message_log
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if _message_log is None:
        _message_log = MessageLog()
        dispatch_hooks.add_observer(_message_log)
    return _message_log
