"""Instantiate every static provider at bootstrap, dependencies first (as Nest does).

An async factory or resource returns an awaitable on its first call (dependency-injector's
async mode); it is awaited here and its provider settled (async mode off), so consumers built
after it, and every later ``get()``, receive the instance synchronously.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from nestpy.core.compiler import settle
from nestpy.core.module_node import ProviderRecord


async def load_instances(order: Iterable[ProviderRecord]) -> None:
    """Build static instances in ``order``; errors surface here, not at first use."""
    for record in order:
        provider = record.provider
        if provider is None or not record.is_static:
            continue
        instance = provider()
        # Only a factory can hand back an awaitable (the check costs more than the call).
        if record.active.kind == "factory" and inspect.isawaitable(instance):
            instance = await instance
            settle(provider)
        record.instance = instance
