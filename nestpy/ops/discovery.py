"""Find the ``HealthIndicator`` providers of an application (Terminus-style plug-in checks)."""

from __future__ import annotations

from typing import Any

from nestpy.ops.health import HealthIndicator


def find_indicators(context: Any) -> list[HealthIndicator]:
    """Every static provider instance of ``context`` that is a ``HealthIndicator``, once each."""
    found: dict[int, HealthIndicator] = {}
    for node in getattr(context, "_modules", ()):
        for record in node.providers.values():
            instance = record.instance if record.is_static else None
            if isinstance(instance, HealthIndicator):
                found.setdefault(id(instance), instance)
    return list(found.values())
