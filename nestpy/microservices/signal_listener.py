"""``SignalListener``: the shutdown signals ``NestMicroservice.run()`` handles while it runs."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable

from nestpy.common.shutdown_signal import signal_numbers

logger = logging.getLogger("nestpy.microservices")


class SignalListener:
    """Handles ``signals`` on the running loop: the first one completes ``received``.

    Later ones, and any once ``closing()`` is true (a ``close()`` from elsewhere), are logged
    and otherwise ignored (as Nest does), so that a signal sent to the whole process group,
    or repeated by a supervisor, cannot cut a graceful shutdown short.
    With ``keep_ignored``, a signal the process ignores (``nohup``, background jobs of a
    shell script) stays ignored. ``remove()`` restores the default handling.
    """

    def __init__(
        self,
        signals: Iterable[str | signal.Signals],
        *,
        keep_ignored: bool,
        closing: Callable[[], bool] = lambda: False,
    ) -> None:
        self.numbers = signal_numbers(signals)
        if keep_ignored:
            self.numbers = {
                name: number
                for name, number in self.numbers.items()
                if signal.getsignal(number) is not signal.SIG_IGN
            }
        self.received: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.cause: str | None = None
        """What started the shutdown (the first signal's name, or ``close()``), once started."""
        self._closing = closing
        self._installed: list[signal.Signals] = []

    def install(self) -> None:
        """Start handling the signals (main thread only, as any signal handler)."""
        loop = asyncio.get_running_loop()
        for name, number in self.numbers.items():
            loop.add_signal_handler(number, self._on_signal, name)
            self._installed.append(number)

    def remove(self) -> None:
        """Stop handling them: each gets its default action back. Idempotent."""
        loop = asyncio.get_running_loop()
        while self._installed:
            loop.remove_signal_handler(self._installed.pop())

    def _on_signal(self, name: str) -> None:
        if self.cause is None and self._closing():
            self.cause = "close()"
        if self.cause is None:
            self.cause = name
            self.received.set_result(name)
            return
        logger.warning(
            "Received %s while shutting down (after %s): still shutting down, in-flight "
            "handlers get at most drain_timeout; SIGKILL stops the process at once",
            name,
            self.cause,
        )
