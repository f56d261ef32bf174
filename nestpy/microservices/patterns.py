"""Message patterns to routes, exactly as NestJS's ``transformPatternToRoute`` does it.

A string pattern is its own route, a number is written as JavaScript writes it (``1.0`` is
``1``). An object pattern becomes a canonical JSON-like string with keys sorted the way
JavaScript's ``localeCompare`` sorts them (ICU's root collation: ``_`` < ``-``, ``é`` next to
``e``) and no spaces, so ``{"cmd": "sum", "a": 1}`` and ``{"a": 1, "cmd": "sum"}`` both route
to ``{"a":1,"cmd":"sum"}``.
"""

from __future__ import annotations

import functools
import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

Pattern: TypeAlias = str | int | float | Mapping[str, Any] | Sequence[Any]


# How ICU's root collation (behind Node's ``localeCompare``) orders printable ASCII; letters
# then compare without case, and the case only breaks ties (tertiary level).
_ICU_ASCII = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
_ASCII_RANK = {c: i for i, c in enumerate(_ICU_ASCII)}
# Secondary weights of accents, in ICU's order (é < è < ĕ < ê < ě < e̊ < ë < ő < ẽ < ė ...).
_ACCENTS = {
    m: i
    for i, m in enumerate(
        "\u0301\u0300\u0306\u0302\u030c\u030a\u0308\u030b\u0303\u0307\u0327\u0328\u0304", 1
    )
}
# Letters that sort as another one with a secondary difference (đ ð as d, ø as o...), and
# letters that sort right after another one (dotless i after i, eng after n).
_VARIANT_OF = dict(zip("đðłøħĐÐŁØĦ", "ddlohDDLOH", strict=True))
_AFTER = dict(zip("ıŋŊ", "inN", strict=True))
_EXPANSIONS = {"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS"}
_Element = tuple[tuple[int, ...], int, int]


def _script_rank(code: int) -> int:
    if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF:  # Hangul
        return 1
    if 0x3040 <= code <= 0x30FF:  # kana
        return 2
    if 0x3400 <= code <= 0x9FFF or code >= 0x20000:  # Han
        return 3
    return 0


def _primary(char: str) -> tuple[int, ...]:
    category = unicodedata.category(char)
    rank = _ASCII_RANK.get(char.lower() if char.isascii() else char)
    if char.isspace() or category.startswith(("Z", "C")):
        return (0, ord(char))
    if category.startswith("P"):
        return (1, _ASCII_RANK["-"] if category == "Pd" else rank or 999, ord(char))
    if category.startswith("S"):
        return (3 if category == "Sc" else 2, rank or 999, ord(char))
    if category.startswith("N"):
        return (4, int(unicodedata.numeric(char, 0) * 1000))
    if char in _AFTER:
        return (5, 0, ord(_AFTER[char].lower()), 1)
    return (5, _script_rank(ord(char)), ord(char.lower()), 0)


def _elements(char: str) -> list[_Element]:
    """ICU-like collation elements of one character: (primary, secondary, tertiary)."""
    if char in _EXPANSIONS:
        first, second = (_primary(c) for c in _EXPANSIONS[char])
        tertiary = 4 + char.isupper()
        return [(first, 0, tertiary), ((), 90, tertiary), (second, 0, tertiary)]
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    stroke = base in _VARIANT_OF
    if stroke:  # a letter and a secondary element, as a letter with an accent
        base = _VARIANT_OF[base]
    compat = unicodedata.normalize("NFKD", base)
    variant = len(compat) == 1 and compat != base
    if variant:  # fullwidth, superscript, other digits...: the plain character, tertiary later
        base = compat
    elif not base.isascii() and unicodedata.category(base) == "Nd":
        variant = True
    tertiary = 2 * base.isupper() + variant
    return [
        (_primary(base), 0, tertiary),
        *([((), 20, 0)] if stroke else []),
        *(((), _ACCENTS.get(m, 100 + ord(m)), 0) for m in marks),
    ]


@functools.lru_cache(maxsize=4096)
def locale_compare_key(
    text: str,
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...], tuple[int, ...]]:
    """Sort key approximating JavaScript's ``localeCompare`` (ICU root collation), as Nest
    sorts object-pattern keys.

    Level 1 compares the whole string without accents and case: spaces, punctuation (ICU's
    order, ``_`` < ``-`` < ``,``...), symbols, currency, digits, then letters, accented ones
    with their base letter; level 2 the accents; level 3 the case (``a`` < ``A`` < ``b``).
    """
    elements = [e for c in text for e in _elements(c)]
    return (
        tuple(p for p, _, _ in elements if p),
        tuple(s for _, s, _ in elements),
        tuple(t for _, _, t in elements),
    )


def js_number(value: float) -> str:
    """A number as JavaScript's ``String(value)`` writes it (``1``, ``1e-7``, ``1e+21``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as JavaScript does; only the layout differs.
    parts = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    k, n = len(digits), int(parts.exponent) + len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = f"0.{'0' * -n}{digits}"
    else:
        exponent = f"e{'+' if n > 0 else '-'}{abs(n - 1)}"
        text = (digits if k == 1 else f"{digits[0]}.{digits[1:]}") + exponent
    return sign + text


def _scalar_to_route(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) or (isinstance(value, int) and abs(value) > 2**53):
        return js_number(float(value))  # JavaScript numbers are doubles
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
