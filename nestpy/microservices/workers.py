"""``workers=N``: one service in N processes that share its subscriptions.

The process the user started (worker 0) runs its own command line again N-1 times
(``sys.orig_argv``, so ``python -m package`` and ``python script.py`` alike) with
``NESTPY_WORKER`` set to the worker's index. Every process subscribes through the same MQTT
shared subscription group (``$share/<group>/<pattern>``), so the broker hands each request or
event to one of them: one service uses every core, and, started on several machines against a
broker cluster, every machine. Worker 0 forwards its shutdown to the others and waits for
them; a worker that dies is started again after ``restart_delay``.

How the processes share the work is the transport's: MQTT subscribes them all in one shared
group (``nestpy_mqtt.workers.with_shared_group``), which ``create_microservice(..., workers=N)``
asks the transport for when it builds the server. This module starts and stops processes only.

Use::

    options = with_shared_group(MqttOptions(url=url), workers=2)  # from nestpy_mqtt.workers
    app = await create_microservice(AppModule, transport=Transport.MQTT, options=options)
    pool = WorkerPool(2)
    await app.listen()
    await pool.start()  # nothing in the workers themselves
    try:
        await app.run()
    finally:
        await pool.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["WORKER_ENV", "WorkerPool", "worker_index"]

logger = logging.getLogger("nestpy.microservices.workers")

WORKER_ENV = "NESTPY_WORKER"
"""Set to the worker's index (1..N-1) in the processes a ``WorkerPool`` starts."""


def worker_index() -> int:
    """0 in the process the user started, 1..N-1 in the workers it started."""
    value = os.environ.get(WORKER_ENV, "")
    return int(value) if value.isdigit() else 0


_MOVED = {"with_shared_group", "DEFAULT_GROUP"}


def __getattr__(name: str) -> Any:
    """Deprecated aliases of the MQTT-only names that moved to ``nestpy_mqtt.workers``."""
    if name not in _MOVED:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    warnings.warn(
        f"nestpy.microservices.workers.{name} moved to nestpy_mqtt.workers.{name} (shared "
        f"subscription groups are MQTT's); import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    import nestpy_mqtt.workers  # only for old code that asks for these names

    return getattr(nestpy_mqtt.workers, name)


class WorkerPool:
    """Starts and stops workers 1..N-1 of a service from worker 0.

    ``argv`` defaults to this process's own command line. In a worker (``NESTPY_WORKER`` set)
    ``start`` and ``stop`` do nothing, so the same code runs in every process.
    """

    def __init__(
        self,
        workers: int,
        *,
        argv: Sequence[str] | None = None,
        restart_delay: float = 1.0,
        stop_timeout: float = 15.0,
    ) -> None:
        if workers < 1:
            msg = f"workers must be at least 1, got {workers}"
            raise ValueError(msg)
        self.workers = workers
        self.argv = list(argv) if argv is not None else [sys.executable, *sys.orig_argv[1:]]
        self.restart_delay = restart_delay
        self.stop_timeout = stop_timeout
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers (not worker 0)."""
        return [p.pid for p in self._processes.values() if p.returncode is None]

    async def start(self) -> None:
        """Start workers 1..N-1 (in worker 0 only); each is restarted if it dies."""
        if worker_index() != 0 or self.workers == 1 or self._watchers:
            return
        self._stopping = False
        for index in range(1, self.workers):
            await self._spawn(index)
            self._watchers.append(asyncio.ensure_future(self._watch(index)))

    async def stop(self, signal_name: str = "SIGTERM") -> None:
        """Send the signal to every worker and wait (``stop_timeout``, then SIGKILL)."""
        self._stopping = True
        for watcher in self._watchers:
            watcher.cancel()
        for watcher in self._watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        self._watchers.clear()
        processes = [p for p in self._processes.values() if p.returncode is None]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(getattr(signal, signal_name))
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
            except TimeoutError:
                logger.warning("Worker %d did not stop in time: killed", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        self._processes.clear()

    async def _spawn(self, index: int) -> None:
        env = {**os.environ, WORKER_ENV: str(index)}
        self._processes[index] = await asyncio.create_subprocess_exec(
            *self.argv, env=env, stdin=asyncio.subprocess.DEVNULL
        )
        logger.info("Started worker %d (pid %d)", index, self._processes[index].pid)

    async def _watch(self, index: int) -> None:
        while not self._stopping:
            code = await self._processes[index].wait()
            if self._stopping:
                return
            logger.warning(
                "Worker %d exited with %s; restarting in %g s", index, code, self.restart_delay
            )
            await asyncio.sleep(self.restart_delay)
            await self._spawn(index)
