"""``ShutdownSignal``: the signals that shut an application down (Nest's enum of the same name)."""

from __future__ import annotations

import signal
from collections.abc import Iterable
from enum import StrEnum

__all__ = ["DEFAULT_SHUTDOWN_SIGNALS", "ShutdownSignal", "signal_numbers"]


class ShutdownSignal(StrEnum):
    """Every signal Nest's ``enableShutdownHooks()`` listens to when given none, in its order.

    ``shutdown_signals=ShutdownSignal`` listens to all of them, as Nest does. SIGILL, SIGBUS,
    SIGFPE and SIGSEGV raised by a real fault in native code cannot be handled from Python
    (the process would fault again and hang); they only make sense sent with ``kill``.
    """

    SIGHUP = "SIGHUP"
    SIGINT = "SIGINT"
    SIGQUIT = "SIGQUIT"
    SIGILL = "SIGILL"
    SIGTRAP = "SIGTRAP"
    SIGABRT = "SIGABRT"
    SIGBUS = "SIGBUS"
    SIGFPE = "SIGFPE"
    SIGSEGV = "SIGSEGV"
    SIGUSR2 = "SIGUSR2"
    SIGTERM = "SIGTERM"


DEFAULT_SHUTDOWN_SIGNALS: tuple[ShutdownSignal, ...] = (
    ShutdownSignal.SIGTERM,
    ShutdownSignal.SIGINT,
    ShutdownSignal.SIGHUP,
)
"""What ``run()`` listens to unless told otherwise: a process manager's stop (SIGTERM), Ctrl+C
(SIGINT) and a closed terminal or SSH session (SIGHUP). Of Nest's set, SIGQUIT keeps its
"quit now" meaning, SIGUSR2 stays free for the application, and the fault signals stay fatal."""


def signal_numbers(names: Iterable[str | signal.Signals]) -> dict[str, signal.Signals]:
    """``{"SIGTERM": Signals.SIGTERM, ...}`` for signal names (any case) or ``signal.Signals``.

    Duplicates count once. Raises ``ValueError`` for a name this platform does not know or a
    signal no process can handle (SIGKILL, SIGSTOP).
    """
    if isinstance(names, str):  # "SIGTERM" alone would be read as five one-letter names
        names = [names]
    numbers: dict[str, signal.Signals] = {}
    for entry in names:
        name = entry.name if isinstance(entry, signal.Signals) else str(entry).strip().upper()
        number = getattr(signal.Signals, name, None)
        if not name.startswith("SIG") or number is None:
            msg = (
                f"Unknown shutdown signal {entry!r}: use a name such as 'SIGTERM' "
                f"(see nestpy.ShutdownSignal) or a signal.Signals member"
            )
            raise ValueError(msg)
        if number in (signal.SIGKILL, signal.SIGSTOP):
            msg = f"{name} cannot be handled by any process: remove it from shutdown_signals"
            raise ValueError(msg)
        numbers[name] = number
    return numbers
