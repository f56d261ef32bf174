"""The registry of scanned modules: insertion (scan) order, globals and hook order."""

from __future__ import annotations

import sys

from nestpy.common.tokens import Token
from nestpy.core.module_node import ModuleNode

GLOBAL_DISTANCE = sys.maxsize


class ModulesContainer:
    """Every ``ModuleNode`` of one application, keyed by module token, in scan order."""

    def __init__(self) -> None:
        self.nodes: dict[Token, ModuleNode] = {}
        self.root: ModuleNode | None = None

    def add(self, node: ModuleNode) -> None:
        """Register a newly scanned module (the first one is the root)."""
        if self.root is None:
            self.root = node
        self.nodes[node.key] = node

    @property
    def globals(self) -> list[ModuleNode]:
        """Global modules, in scan order."""
        return [node for node in self.nodes.values() if node.is_global]

    def calculate_distances(self) -> None:
        """Nest's distance: the longest import path from the root; globals get the maximum.

        Back edges of import cycles (``forward_ref``) are ignored, which keeps this linear where
        Nest walks every path.
        """
        if self.root is None:
            return
        order: list[ModuleNode] = []
        state: dict[int, int] = {}
        stack = [(self.root, iter(self.root.imports))]
        state[id(self.root)] = 1
        skipped: set[tuple[int, int]] = set()
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[id(node)] = 2
                order.append(node)
                continue
            seen = state.get(id(child), 0)
            if seen == 1:
                skipped.add((id(node), id(child)))
            elif seen == 0:
                state[id(child)] = 1
                stack.append((child, iter(child.imports)))
        for node in reversed(order):  # topological order of the acyclic part
            for child in node.imports:
                if (id(node), id(child)) not in skipped:
                    child.distance = max(child.distance, node.distance + 1)
        for node in self.nodes.values():
            if node.is_global:
                node.distance = GLOBAL_DISTANCE

    def hook_order(self) -> list[ModuleNode]:
        """Modules by distance, deepest (and global) first; ties keep scan order."""
        return sorted(self.nodes.values(), key=lambda node: -node.distance)
