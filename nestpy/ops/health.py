"""Health indicators and the check that runs them (Nest Terminus's ``HealthCheckService``).

An indicator is a provider that subclasses ``HealthIndicator``: it names itself (``key``),
bounds its own run time (``timeout``) and ``check()`` returns details, or raises when what it
watches is down. The report has Terminus's shape: ``status``, ``info``, ``error``, ``details``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["HealthCheckError", "HealthCheckService", "HealthIndicator", "HealthReport"]


class HealthCheckError(Exception):
    """Raised by ``HealthIndicator.check`` to report "down" with details for the JSON body."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = dict(details or {})


class HealthIndicator:
    """Base class of a readiness check; subclass it in an ``@Injectable()`` provider.

    ``check()`` (sync or async) returns extra details (or None) when up and raises when down.
    It is given ``timeout`` seconds; a check that takes longer counts as down.

    Example::

        @Injectable()
        class DatabaseHealth(HealthIndicator):
            key = "database"
            timeout = 1.0

            def __init__(self, db: Database) -> None:
                self.db = db

            async def check(self) -> dict[str, object]:
                await self.db.ping()
                return {"pool": self.db.pool_size}
    """

    key: ClassVar[str] = ""
    """The name of the check in ``/readyz``'s body (default: the class name)."""
    timeout: ClassVar[float] = 5.0
    """Seconds ``check()`` may take before it counts as down."""

    @property
    def name(self) -> str:
        """The check's name: ``key``, or the class name."""
        return self.key or type(self).__name__

    def check(self) -> Any:
        """Return details (a mapping or None) when up; raise when down."""
        msg = f"{type(self).__name__} must implement check()"
        raise NotImplementedError(msg)


@dataclass
class HealthReport:
    """The outcome of one health check, in Terminus's JSON shape."""

    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every indicator is up."""
        return not self.error

    def to_json(self) -> dict[str, Any]:
        """``{"status": "ok"|"error", "info": {...}, "error": {...}, "details": {...}}``."""
        return {
            "status": "ok" if self.ok else "error",
            "info": self.info,
            "error": self.error,
            "details": {**self.info, **self.error},
        }


class HealthCheckService:
    """Runs indicators concurrently, each bounded by its own timeout."""

    def __init__(self, indicators: Iterable[HealthIndicator] = ()) -> None:
        self.indicators = list(indicators)

    async def check(self) -> HealthReport:
        """Run every indicator; never raises and never waits longer than the largest timeout."""
        results = await asyncio.gather(*(_run(indicator) for indicator in self.indicators))
        report = HealthReport()
        for indicator, (up, details) in zip(self.indicators, results, strict=True):
            (report.info if up else report.error)[indicator.name] = details
        return report


async def _run(indicator: HealthIndicator) -> tuple[bool, dict[str, Any]]:
    timeout = indicator.timeout
    # A task waited for with a deadline, not awaited under asyncio.timeout: a check that
    # swallows its cancellation still cannot hold the probe past its timeout.
    task = asyncio.ensure_future(_call(indicator))
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        task.add_done_callback(_retrieve)
        return False, {"status": "down", "message": f"timed out after {timeout:g} s"}
    try:
        result = task.result()
    except HealthCheckError as exc:
        return False, {**exc.details, "status": "down", "message": str(exc)}
    except Exception as exc:
        return False, {"status": "down", "message": f"{type(exc).__name__}: {exc}"}
    details = dict(result) if isinstance(result, Mapping) else {}
    return True, {**details, "status": "up"}


async def _call(indicator: HealthIndicator) -> Any:
    result = indicator.check()
    if inspect.isawaitable(result):
        result = await result
    return result


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
