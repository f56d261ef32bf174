"""``nestpy run --reload``: run the service in a child process, restart it on source changes.

The parent only watches (``watchfiles``, Python files under ``--app-dir``); the child is the
same ``nestpy run`` command without ``--reload``. A change stops the child as a SIGTERM would
(in-flight handlers reply, shutdown hooks run) and starts a new one; SIGTERM or SIGINT to the
parent stops the child the same way and ends with status 0.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from nestpy.cli.loader import CliError

logger = logging.getLogger("nestpy.cli.reload")

STOP_TIMEOUT = 30.0
"""Seconds a child may take to shut down before it is killed."""


def _start(command: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(command))


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        logger.warning("The service did not stop within %g s: killed", STOP_TIMEOUT)
        child.kill()
        child.wait()


def child_command() -> list[str]:
    """This process's own command line without ``--reload`` (``nestpy run ...`` and
    ``python -m nestpy.cli run ...`` alike)."""
    return [sys.executable, *(arg for arg in sys.orig_argv[1:] if arg != "--reload")]


def run_with_reload(command: Sequence[str], directory: str | Path, debounce_ms: int = 400) -> int:
    """Run ``command`` until SIGTERM/SIGINT, restarting it whenever a Python file under
    ``directory`` changes."""
    try:
        from watchfiles import PythonFilter, watch
    except ImportError:
        msg = "--reload needs watchfiles: pip install 'nestpy-mqtt[reload]'"
        raise CliError(msg) from None
    stop = threading.Event()
    received: list[str] = []

    def on_signal(number: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    root = Path(directory).resolve()
    logger.info("Watching %s for changes to Python files", root)
    child = _start(command)
    try:
        for changes in watch(
            root,
            watch_filter=PythonFilter(),
            stop_event=stop,
            debounce=debounce_ms,
            raise_interrupt=False,
        ):
            names = sorted({Path(path).relative_to(root).as_posix() for _, path in changes})
            logger.info("Detected changes in %s: restarting", ", ".join(names))
            _stop(child)
            child = _start(command)
        if received:
            logger.info("Received %s, stopping the service", received[0])
    finally:
        _stop(child)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
