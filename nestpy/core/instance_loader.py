"""Instantiate every static provider at bootstrap, dependencies first (as Nest does).

Async factories are awaited here, once, and their results fill the ``Object`` providers their
consumers reference; every later ``get()`` stays synchronous.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from nestpy.core.module_node import ProviderRecord


async def load_instances(order: Iterable[ProviderRecord]) -> None:
    """Build static instances in ``order``; errors surface here, not at first use."""
    for record in order:
        if not record.is_static or record.provider is None:
            continue
        if record.slot is not None:
            placeholder, factory = record.slot
            value = factory()
            if inspect.isawaitable(value):
                value = await value
            placeholder.set_provides(value)
        instance = record.provider()
        # Only a factory can hand back an awaitable (the check costs more than the call).
        if record.active.kind == "factory" and inspect.isawaitable(instance):
            instance = await instance
        record.instance = instance
