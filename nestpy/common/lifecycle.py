"""Protocols naming the lifecycle hooks; implement the methods, plain or ``async def``.

Startup: every ``on_module_init``, then every ``on_application_bootstrap``.
Shutdown: ``on_module_destroy``, ``before_application_shutdown(signal)``, the dispose callbacks
(servers and clients close there), then ``on_application_shutdown(signal)``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, runtime_checkable


@runtime_checkable
class OnModuleInit(Protocol):
    """Called once the host module's dependencies are resolved."""

    def on_module_init(self) -> Awaitable[None] | None:
        """Initialise; may be ``async``."""


@runtime_checkable
class OnApplicationBootstrap(Protocol):
    """Called once every module has been initialised."""

    def on_application_bootstrap(self) -> Awaitable[None] | None:
        """Start; may be ``async``."""


@runtime_checkable
class OnModuleDestroy(Protocol):
    """Called first when the application closes."""

    def on_module_destroy(self) -> Awaitable[None] | None:
        """Release; may be ``async``."""


@runtime_checkable
class BeforeApplicationShutdown(Protocol):
    """Called after every ``on_module_destroy``, before connections close."""

    def before_application_shutdown(self, signal: str | None = None) -> Awaitable[None] | None:
        """Prepare to stop; ``signal`` is e.g. ``"SIGTERM"`` when a signal closed the app."""


@runtime_checkable
class OnApplicationShutdown(Protocol):
    """Called last, after connections have closed."""

    def on_application_shutdown(self, signal: str | None = None) -> Awaitable[None] | None:
        """Stop; ``signal`` is e.g. ``"SIGTERM"`` when a signal closed the app."""
