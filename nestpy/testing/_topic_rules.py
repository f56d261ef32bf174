"""How the in-memory broker routes: MQTT's topic rules, in a few lines of its own.

The in-memory transport stands in for the MQTT transport in unit tests, so it routes as
``nestpy_mqtt.topics`` does, Nest's quirks included: ``+`` is one non-empty level, ``a/#``
matches ``a`` too, a level that starts with ``+`` or ``#`` is that wildcard, a handler key under
``$share/<group>/`` matches without that prefix, and replies go to ``<topic>/reply``. The core
never imports the MQTT package, hence this copy; tests/mqtt/test_topics.py checks that both
agree, and the transport contract suite runs on both transports.
"""

from __future__ import annotations

from collections.abc import Collection

SHARED = "$share"


def matches(topic_filter: str, topic: str) -> bool:
    """Tell whether ``topic`` matches ``topic_filter`` (a filter without ``$share/<group>/``)."""
    filters = topic_filter.split("/")
    levels = topic.split("/")
    last = len(filters) - 1
    for i, current in enumerate(filters):
        level = levels[i] if i < len(levels) else ""
        if not level and not current:
            continue
        if not level and current != "#":
            return False
        if current[:1] == "#":
            return i == last
        if current[:1] != "+" and current != level:
            return False
    return len(filters) == len(levels)


def unshared(key: str) -> str:
    """``key`` without a ``$share/<group>/`` prefix (any key starting with ``$share``, as Nest)."""
    return "/".join(key.split("/")[2:]) if key.startswith(SHARED) else key


def shared_group(topic_filter: str) -> str | None:
    """The group of a ``$share/<group>/...`` filter, else ``None``."""
    return topic_filter.split("/")[1] if topic_filter.startswith(SHARED + "/") else None


def shared(group: str, route: str) -> str:
    """``$share/<group>/<route>``; a route that is already shared is kept as it is."""
    if not group or any(c in group for c in "/+#"):
        msg = f"Invalid shared subscription group {group!r}: use a non-empty name without / + #"
        raise ValueError(msg)
    return route if route.startswith(SHARED + "/") else f"{SHARED}/{group}/{route}"


def reply_topic(topic: str) -> str:
    """Where the replies to requests on ``topic`` go."""
    return topic + "/reply"


def first_match(keys: Collection[str], topic: str) -> str | None:
    """The handler key for ``topic``: an exact key, else the first key (in order) that matches."""
    if topic in keys:
        return topic
    return next((key for key in keys if matches(unshared(key), topic)), None)
