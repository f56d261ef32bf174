"""Port of nestjs/nest ``integration/hooks/e2e/enable-process-error-handlers.spec.ts``.

Node's ``uncaughtException`` is an exception raised in an event-loop callback and
``unhandledRejection`` a task whose exception nobody retrieved (``uncaught_exception`` and
``unhandled_rejection`` in nestpy).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAIN = Path(__file__).with_name("process_errors_main.py")
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAIN), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's nestpy
        check=False,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def test_runs_the_shutdown_sequence_and_exits_with_the_code_on_uncaught_exception() -> None:
    """it('should run the shutdown sequence and exit with the given code on
    uncaughtException')"""
    result = run("uncaught_exception", "shutdown", "7")
    assert lines(result) == [
        "handler uncaught_exception boom",
        "before_application_shutdown uncaught_exception",
        "on_application_shutdown uncaught_exception",
    ]
    assert result.returncode == 7


def test_runs_the_shutdown_sequence_and_exits_with_the_code_on_unhandled_rejection() -> None:
    """it('should run the shutdown sequence and exit with the given code on
    unhandledRejection')"""
    result = run("unhandled_rejection", "shutdown", "9")
    assert lines(result) == [
        "handler unhandled_rejection boom",
        "before_application_shutdown unhandled_rejection",
        "on_application_shutdown unhandled_rejection",
    ]
    assert result.returncode == 9


def test_keeps_the_process_alive_when_the_handler_does_not_shut_down() -> None:
    """it('should keep the process alive when the handler does not shut down')"""
    result = run("uncaught_exception", "log")
    assert lines(result) == ["handler uncaught_exception boom", "still alive"]
    assert result.returncode == 0
