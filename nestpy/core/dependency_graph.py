"""Link every dependency to the record it means in its module, then analyse the graph.

Linking raises ``UnknownDependenciesError`` for anything a module cannot see. The analysis is
one depth-first walk that finds provider cycles (allowed only through ``forward_ref`` to a
class provider), makes request scope bubble up to dependents, and yields the instantiation
order (dependencies first).
"""

from __future__ import annotations

from collections.abc import Iterable

from nestpy.common.scopes import Scope
from nestpy.core.dependencies import Dependency, DependencyReader
from nestpy.core.errors.exceptions import (
    CircularDependencyError,
    UnknownDependenciesError,
    UnknownPropertyError,
)
from nestpy.core.module_node import ModuleNode, ProviderRecord


def link(record: ProviderRecord, node: ModuleNode, reader: DependencyReader) -> None:
    """Read the dependencies of the active spec and find each in ``node``'s context."""
    deps = reader.of(record.active)
    record.deps = deps
    record.links = [_find(record, node, deps, position) for position in range(len(deps))]


def _find(
    record: ProviderRecord, node: ModuleNode, deps: list[Dependency], position: int
) -> ProviderRecord | None:
    dep = deps[position]
    found = node.lookup(dep.token)
    if found is record:
        found = None  # a provider cannot inject itself: Nest reports it as unknown
    if found is None and not dep.optional:
        if dep.attribute is not None:
            raise UnknownPropertyError(target=record.token, key=dep.attribute, module=node.name)
        raise UnknownDependenciesError(
            target=record.token,
            dependencies=[d.token for d in deps],
            index=position,
            module=node.name,
        )
    return found


def analyse(records: Iterable[ProviderRecord]) -> list[ProviderRecord]:
    """Detect cycles, set ``request_scoped``/``transient``; return dependencies-first order.

    An iterative depth-first walk, so long dependency chains cannot hit the recursion limit.
    """
    order: list[ProviderRecord] = []
    state: dict[int, int] = {}  # 1: on the stack, 2: done
    stack: list[ProviderRecord] = []
    positions: list[int] = []
    for start in records:
        if state.get(id(start), 0):
            continue
        state[id(start)] = 1
        stack.append(start)
        positions.append(0)
        while stack:
            record, position = stack[-1], positions[-1]
            if position < len(record.deps):
                positions[-1] += 1
                target = record.links[position]
                seen = state.get(id(target), 0) if target is not None else 2
                if target is not None and seen == 1:
                    _close_cycle(record, position, record.deps[position], target, stack)
                elif target is not None and seen == 0:
                    state[id(target)] = 1
                    stack.append(target)
                    positions.append(0)
                continue
            _settle_scope(record)
            stack.pop()
            positions.pop()
            state[id(record)] = 2
            order.append(record)
    for record in order:
        for position in record.shell_edges:
            target = record.links[position]
            if target is not None and not target.is_static:
                _raise_cycle(target, stack=[target, record])
    return order


def _close_cycle(
    record: ProviderRecord,
    position: int,
    dep: Dependency,
    target: ProviderRecord,
    stack: list[ProviderRecord],
) -> None:
    active = target.active
    shellable = active.kind == "class" and active.declared_scope() is Scope.DEFAULT
    if not (dep.forward and shellable):
        _raise_cycle(target, stack=stack[stack.index(target) :])
    record.shell_edges.add(position)
    target.cycle_target = True  # the compiler hands ``record`` its allocation on that edge


def _raise_cycle(target: ProviderRecord, *, stack: list[ProviderRecord]) -> None:
    chain = [r.token for r in stack] + [target.token]
    raise CircularDependencyError(module=target.module_name or "the application", chain=chain)


def _settle_scope(record: ProviderRecord) -> None:
    active = record.active
    if record.shell_edges:
        edges = record.shell_edges
        links = [t for i, t in enumerate(record.links) if t is not None and i not in edges]
    else:
        links = [t for t in record.links if t is not None]
    if active.kind == "existing":
        target = record.links[0] if record.links else None
        record.transient = target is not None and target.transient
        record.request_scoped = target is not None and target.request_scoped
        record.durable = target is not None and target.durable
        return
    if record.role == "core":
        return  # core records come with their scope set
    scope = active.declared_scope()
    record.transient = scope is Scope.TRANSIENT
    record.request_scoped = scope is Scope.REQUEST or any(t.request_scoped for t in links)
    if record.request_scoped:
        declared = active.declared_durable()
        scoped = [t for t in links if t.request_scoped]
        # Durability bubbles up, as in Nest: durable when every request-scoped dependency is.
        inherited = bool(scoped) and all(t.durable for t in scoped)
        record.durable = inherited if declared is None else declared
