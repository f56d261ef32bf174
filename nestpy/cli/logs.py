"""Nest-like log lines for the command line: ``[Nest] PID  - time     LOG [context] message``."""

from __future__ import annotations

import logging
import os
import sys
import time

LEVELS = {"DEBUG": "DEBUG", "INFO": "LOG", "WARNING": "WARN", "ERROR": "ERROR", "CRITICAL": "FATAL"}


class NestFormatter(logging.Formatter):
    """Formats records as Nest's ``ConsoleLogger`` prints them (without colours)."""

    def format(self, record: logging.LogRecord) -> str:
        """``[Nest] 4242  - 2024-05-01 10:00:00     LOG [nestpy.microservices] message``."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        level = LEVELS.get(record.levelname, record.levelname)
        line = f"[Nest] {os.getpid()}  - {stamp} {level:>7} [{record.name}] {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO") -> None:
    """Send every log record at ``level`` and above to stderr, in Nest's format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(NestFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
