"""Run lifecycle hooks in Nest's order.

Modules run by distance, deepest and global first (the reverse on shutdown); each hook is
awaited before the next module. Within a module the hooks of controllers and providers run
concurrently, then the module class instance's. Only static instances have hooks (request-
scoped and transient ones do not); ``use_value`` objects do.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Sequence
from typing import Any

from nestpy.core.module_node import ModuleNode


async def call_hook(modules: Sequence[ModuleNode], hook: str, *args: Any) -> None:
    """Call ``hook`` on every static instance of ``modules``, in that module order."""
    seen: set[int] = set()
    for node in modules:
        pending: list[Awaitable[Any]] = []
        for record in [
            *node.controllers.values(),
            *node.providers.values(),
            *node.injectables.values(),
        ]:
            if record.is_static:
                _call(record.instance, hook, args, seen, pending)
        if pending:
            await asyncio.gather(*pending)
        last: list[Awaitable[Any]] = []
        _call(node.instance_record.instance, hook, args, seen, last)
        for awaitable in last:
            await awaitable


def _call(
    instance: Any, hook: str, args: tuple[Any, ...], seen: set[int], out: list[Awaitable[Any]]
) -> None:
    if instance is None or id(instance) in seen:
        return
    method = getattr(instance, hook, None)
    if not callable(method):
        return
    seen.add(id(instance))
    result = method(*args[: _arity(method, len(args))])
    if inspect.isawaitable(result):
        out.append(result)


def _arity(method: Any, available: int) -> int:
    """How many of the hook's arguments (the signal) ``method`` accepts."""
    if not available:
        return 0
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return available
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return available
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return min(available, sum(p.kind in positional for p in parameters))
