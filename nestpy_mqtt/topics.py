"""Pure topic logic: Nest's MQTT wildcard matcher, shared subscriptions, reply topics.

Nothing here touches paho or the network; every function is a plain string operation, used by
``ServerMqtt`` and ``ClientMqtt``. The in-memory test transport in the core routes the same way
with its own few lines (``nestpy.testing._topic_rules``); tests/mqtt/test_topics.py keeps the two
in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "MQTT_SEPARATOR",
    "MQTT_WILDCARD_ALL",
    "MQTT_WILDCARD_SINGLE",
    "REPLY_SUFFIX",
    "SHARED_PREFIX",
    "HandlerMatcher",
    "check_group",
    "has_wildcards",
    "match_mqtt_pattern",
    "remove_shared_prefix",
    "reply_topic",
    "shared_subscription",
]

MQTT_SEPARATOR = "/"
MQTT_WILDCARD_SINGLE = "+"
MQTT_WILDCARD_ALL = "#"
SHARED_PREFIX = "$share"
REPLY_SUFFIX = "/reply"


def match_mqtt_pattern(pattern: str, topic: str) -> bool:
    """Tell whether ``topic`` matches ``pattern`` exactly as Nest's ``matchMqttPattern`` does.

    Nest's quirks are kept on purpose, for wire-level compatibility: ``+`` does not match an
    empty level (``a/+/b`` rejects ``a//b``), ``a/#`` also matches ``a``, a segment that merely
    starts with ``+`` or ``#`` acts as that wildcard, and ``$``-topics are not special.

    >>> match_mqtt_pattern("sensors/+/temperature/+", "sensors/1/temperature/c")
    True
    >>> match_mqtt_pattern("a/#", "a")
    True
    """
    pattern_segments = pattern.split(MQTT_SEPARATOR)
    topic_segments = topic.split(MQTT_SEPARATOR)
    last_index = len(pattern_segments) - 1
    topic_count = len(topic_segments)
    for i, current_pattern in enumerate(pattern_segments):
        current_topic = topic_segments[i] if i < topic_count else ""
        if not current_topic and not current_pattern:
            continue
        if not current_topic and current_pattern != MQTT_WILDCARD_ALL:
            return False
        first = current_pattern[:1]
        if first == MQTT_WILDCARD_ALL:
            return i == last_index
        if first != MQTT_WILDCARD_SINGLE and current_pattern != current_topic:
            return False
    return len(pattern_segments) == topic_count


def remove_shared_prefix(key: str) -> str:
    """Strip a ``$share/<group>/`` prefix from a handler key, as Nest's server does.

    Like Nest, any key that starts with ``$share`` loses its first two ``/`` segments.

    >>> remove_shared_prefix("$share/g/sensors/+")
    'sensors/+'
    """
    if key.startswith(SHARED_PREFIX):
        return MQTT_SEPARATOR.join(key.split(MQTT_SEPARATOR)[2:])
    return key


def reply_topic(topic: str) -> str:
    """Return the topic replies to requests on ``topic`` are published to: ``<topic>/reply``."""
    return topic + REPLY_SUFFIX


def shared_subscription(group: str, pattern: str) -> str:
    """Return ``$share/<group>/<pattern>``; a pattern that is already shared is kept as it is.

    Raises ``ValueError`` when the group name is empty or contains ``/``, ``+`` or ``#``.
    """
    check_group(group)
    if pattern.startswith(SHARED_PREFIX + MQTT_SEPARATOR):
        return pattern
    return f"{SHARED_PREFIX}/{group}/{pattern}"


def check_group(group: str) -> str:
    """Return ``group``; ``ValueError`` when it is empty or contains ``/``, ``+`` or ``#``."""
    if not group or any(c in group for c in "/+#"):
        msg = f"Invalid shared subscription group {group!r}: use a non-empty name without / + #"
        raise ValueError(msg)
    return group


def has_wildcards(pattern: str) -> bool:
    """Tell whether a topic filter contains ``+`` or ``#``."""
    return MQTT_WILDCARD_SINGLE in pattern or MQTT_WILDCARD_ALL in pattern


class HandlerMatcher:
    """Find the handler key for a delivered topic, with Nest's lookup rules.

    An exact key wins; otherwise the first key, in registration order, whose pattern (with any
    ``$share/<group>/`` prefix removed) matches. Results, misses included, are cached per topic
    in a bounded dict, so a steady stream of messages costs one dict lookup each.

    >>> m = HandlerMatcher(["a/+/c", "$share/g/x/#"])
    >>> m.match("x/y"), m.match("a//c")
    ('$share/g/x/#', None)
    """

    def __init__(self, keys: Iterable[str] = (), *, cache_size: int = 4096) -> None:
        self._keys: dict[str, str] = {}  # key -> pattern without the shared prefix
        self._cache: dict[str, str | None] = {}
        self._cache_size = cache_size
        for key in keys:
            self.add(key)

    @property
    def keys(self) -> list[str]:
        """The registered keys, in registration order."""
        return list(self._keys)

    def add(self, key: str) -> None:
        """Register a handler key (adding a known key again changes nothing)."""
        if key not in self._keys:
            self._keys[key] = remove_shared_prefix(key)
            self._cache.clear()

    def remove(self, key: str) -> None:
        """Forget a handler key; unknown keys are ignored."""
        if self._keys.pop(key, None) is not None:
            self._cache.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def match(self, topic: str) -> str | None:
        """Return the key that handles ``topic``, or ``None`` when no key matches."""
        try:
            return self._cache[topic]
        except KeyError:
            pass
        found = self._lookup(topic)
        cache = self._cache
        if len(cache) >= self._cache_size:
            del cache[next(iter(cache))]
        cache[topic] = found
        return found

    def _lookup(self, topic: str) -> str | None:
        if topic in self._keys:
            return topic
        for key, pattern in self._keys.items():
            if match_mqtt_pattern(pattern, topic):
                return key
        return None
