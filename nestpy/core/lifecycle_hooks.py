"""Run lifecycle hooks in Nest's order.

Modules run by distance, deepest and global first (the reverse on shutdown); each hook is
awaited before the next module. Within a module the hooks of controllers and providers run by
injection level (dependencies first; dependents first on shutdown), each level concurrently,
then the module class instance's. Only static instances have hooks (request-
scoped and transient ones do not); ``use_value`` objects do.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Sequence
from typing import Any

from nestpy.core.module_node import ModuleNode, ProviderRecord


async def call_hook(
    modules: Sequence[ModuleNode], hook: str, *args: Any, dependents_first: bool = False
) -> None:
    """Call ``hook`` on every static instance of ``modules``, in that module order.

    Within a module, instances run by injection level: dependencies first (their hooks run
    concurrently level by level), or dependents first on shutdown (``dependents_first``).
    """
    seen: set[int] = set()
    for node in modules:
        records = _with_hook(node, hook)
        if len(records) > 1:  # order by injection level only when there is an order to keep
            levels = node.hook_groups
            if levels is None:
                levels = node.hook_groups = _hook_groups(node)
            rank = {id(record): level for level, group in enumerate(levels) for record in group}
            groups: dict[int, list[ProviderRecord]] = {}
            for record in records:
                groups.setdefault(rank.get(id(record), 0), []).append(record)
            ordered = [groups[level] for level in sorted(groups, reverse=dependents_first)]
        else:
            ordered = [records]
        for group in ordered:
            pending: list[Awaitable[Any]] = []
            for record in group:
                _call(record.instance, hook, args, seen, pending)
            if pending:
                await asyncio.gather(*pending)
        last: list[Awaitable[Any]] = []
        _call(node.instance_record.instance, hook, args, seen, last)
        for awaitable in last:
            await awaitable


def _with_hook(node: ModuleNode, hook: str) -> list[ProviderRecord]:
    records = [*node.controllers.values(), *node.providers.values(), *node.injectables.values()]
    return [
        record
        for record in records
        if record.is_static and callable(getattr(record.instance, hook, None))
    ]


def _hook_groups(node: ModuleNode) -> list[list[ProviderRecord]]:
    """The static records of ``node`` grouped by injection level, lowest first."""
    records = [*node.controllers.values(), *node.providers.values(), *node.injectables.values()]
    levels = _levels([record for record in records if record.is_static], node)
    return [levels[level] for level in sorted(levels)]


def _levels(records: list[ProviderRecord], node: ModuleNode) -> dict[int, list[ProviderRecord]]:
    """Group ``records`` by depth of injection inside ``node`` (0: depends on none of them)."""
    depth: dict[int, int] = {}

    def level(record: ProviderRecord, visiting: set[int]) -> int:
        known = depth.get(id(record))
        if known is not None:
            return known
        visiting.add(id(record))
        found = 0
        for target in record.links:
            if target is not None and target.node is node and id(target) not in visiting:
                found = max(found, level(target, visiting) + 1)
        visiting.discard(id(record))
        depth[id(record)] = found
        return found

    groups: dict[int, list[ProviderRecord]] = {}
    for record in records:
        groups.setdefault(level(record, set()), []).append(record)
    return groups


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
