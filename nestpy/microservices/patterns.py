"""Message patterns to routes, exactly as NestJS's ``transformPatternToRoute`` does it.

A string or number pattern is its own route. An object pattern becomes a canonical JSON-like
string with keys sorted the way JavaScript's ``localeCompare`` sorts them and no spaces, so
``{"cmd": "sum", "a": 1}`` and ``{"a": 1, "cmd": "sum"}`` both route to ``{"a":1,"cmd":"sum"}``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

Pattern: TypeAlias = str | int | float | Mapping[str, Any] | Sequence[Any]


def _char_rank(char: str) -> int:
    category = unicodedata.category(char)
    if category.startswith("Z") or char.isspace():
        return 0
    if category.startswith("P"):
        return 1
    if category.startswith("S"):
        return 2
    if category.startswith("N"):
        return 3
    return 4


def locale_compare_key(text: str) -> tuple[tuple[tuple[int, str], ...], tuple[bool, ...]]:
    """Sort key approximating JavaScript's default ``String.prototype.localeCompare``.

    Primary order: spaces, punctuation, symbols, digits, letters, letters compared without
    case; ties are broken with lowercase before uppercase (``a`` < ``B`` < ``b``).
    """
    primary = tuple((_char_rank(c), c.casefold()) for c in text)
    tertiary = tuple(c.isupper() for c in text)
    return primary, tertiary


def _scalar_to_route(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def transform_pattern_to_route(pattern: Any) -> str:
    """Return the route (for MQTT: the topic) that NestJS uses for ``pattern``."""
    if isinstance(pattern, str):
        return pattern
    if isinstance(pattern, Mapping):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in pattern.items()]
    elif isinstance(pattern, list | tuple):
        items = [(str(i), v) for i, v in enumerate(pattern)]
    else:
        return _scalar_to_route(pattern)
    items.sort(key=lambda item: locale_compare_key(item[0]))
    parts = []
    for key, value in items:
        rendered = f'"{value}"' if isinstance(value, str) else transform_pattern_to_route(value)
        parts.append(f'"{key}":{rendered}')
    return "{" + ",".join(parts) + "}"


def route_from_channel(channel: str) -> str:
    """Normalise a received channel (topic) the way Nest's ``getRouteFromPattern`` does.

    A channel holding a JSON object (an object pattern's route) is parsed and re-rendered so that
    it matches the handler's route; anything else is used as it is.
    """
    if not channel.startswith(("{", "[")):
        return channel
    try:
        parsed = json.loads(channel)
    except ValueError:
        return channel
    return transform_pattern_to_route(parsed)


def pattern_routes(patterns: Pattern | list[Pattern]) -> list[str]:
    """Routes of a decorator argument: a list of patterns gives one route per element."""
    if isinstance(patterns, list):
        return [transform_pattern_to_route(p) for p in patterns]
    return [transform_pattern_to_route(patterns)]
