"""Topic parameters: ``sensors/{device_id}/temperature`` is routed as ``sensors/+/temperature``
and its second segment fills the handler's ``device_id`` parameter."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _parse(route: str) -> tuple[str, dict[str, int]]:
    if "{" not in route or route.startswith(("{", "[")):  # an object pattern's JSON route
        return route, {}
    names: dict[str, int] = {}
    segments = route.split("/")
    for index, segment in enumerate(segments):
        match = _PLACEHOLDER.fullmatch(segment)
        if match is None:
            if "{" in segment or "}" in segment:
                msg = (
                    f"topic parameter in {route!r}: {segment!r} must be a whole segment, "
                    "like sensors/{device_id}/temperature"
                )
                raise ValueError(msg)
            continue
        name = match.group(1)
        if not name.isidentifier() or name in names:
            problem = "repeated" if name in names else "not a Python identifier"
            msg = f"topic parameter {{{name}}} in {route!r} is {problem}"
            raise ValueError(msg)
        names[name] = index
        segments[index] = "+"
    return "/".join(segments), names


def topic_parameters(routes: Iterable[str]) -> tuple[tuple[str, ...], Mapping[str, int]]:
    """The subscribed routes (``{name}`` segments as ``+``) and each name's segment index.

    Several patterns on one handler must place their parameters alike.
    """
    parsed = [_parse(route) for route in routes]
    layouts = {tuple(sorted(names.items())) for _, names in parsed}
    if len(layouts) > 1:
        msg = (
            f"the patterns {[r for r, _ in parsed]} of one handler place their topic parameters "
            "differently; give each layout its own handler"
        )
        raise ValueError(msg)
    return tuple(route for route, _ in parsed), (parsed[0][1] if parsed else {})
