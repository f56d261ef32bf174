"""MQTT topic logic, shared with the in-memory transport; see ``nestpy.microservices.topics``."""

from nestpy.microservices.topics import (
    MQTT_SEPARATOR,
    MQTT_WILDCARD_ALL,
    MQTT_WILDCARD_SINGLE,
    REPLY_SUFFIX,
    SHARED_PREFIX,
    HandlerMatcher,
    has_wildcards,
    match_mqtt_pattern,
    remove_shared_prefix,
    reply_topic,
    shared_subscription,
)

__all__ = [
    "MQTT_SEPARATOR",
    "MQTT_WILDCARD_ALL",
    "MQTT_WILDCARD_SINGLE",
    "REPLY_SUFFIX",
    "SHARED_PREFIX",
    "HandlerMatcher",
    "has_wildcards",
    "match_mqtt_pattern",
    "remove_shared_prefix",
    "reply_topic",
    "shared_subscription",
]
