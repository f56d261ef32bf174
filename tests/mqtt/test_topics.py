"""Nest's topic matching rules (reference 1.7), shared subscriptions and reply topics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nestpy.testing import _topic_rules as topic_rules
from nestpy_mqtt.topics import (
    HandlerMatcher,
    has_wildcards,
    match_mqtt_pattern,
    remove_shared_prefix,
    reply_topic,
    shared_subscription,
)


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        # exact
        ("sum", "sum", True),
        ("sum", "sums", False),
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
        ("a/b/c", "a/b", False),
        # single-level wildcard
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/d", False),
        ("a/+/c", "a//c", False),  # Nest quirk: + does not match an empty level
        ("a/+", "a/b", True),
        ("a/+", "a", False),
        ("a/+", "a/b/c", False),
        ("+", "a", True),
        ("+/+", "a/b", True),
        ("sensors/+/temperature/+", "sensors/1/temperature/c", True),
        ("sensors/+/temperature/+", "sensors//temperature/c", False),
        ("a/+x/c", "a/b/c", True),  # a segment starting with + acts as +
        # multi-level wildcard
        ("a/#", "a", True),  # Nest quirk (the MQTT spec agrees here)
        ("a/#", "a/b", True),
        ("a/#", "a/b/c", True),
        ("a/#", "b", False),
        ("#", "a", True),
        ("#", "a/b/c", True),
        ("a/#/c", "a/b/c", False),  # # not last: false
        ("a/#x", "a/b/c", True),  # a segment starting with # acts as #
        # empty levels
        ("a//b", "a//b", True),
        ("a/", "a/", True),
        ("/a", "/a", True),
        ("a/", "a", False),
        # $-topics are not special in Nest's matcher
        ("#", "$SYS/broker", True),
        ("+/broker", "$SYS/broker", True),
        # the reply topic of a wildcard request
        ("sensors/+/reply", "sensors/9/reply", True),
    ],
)
def test_match_mqtt_pattern(pattern: str, topic: str, expected: bool) -> None:
    assert match_mqtt_pattern(pattern, topic) is expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("$share/g/x/#", "x/#"),
        ("$share/group/sensors/+/t", "sensors/+/t"),
        ("$share/g/x", "x"),
        ("$shared/g/x", "x"),  # Nest strips any key starting with "$share"
        ("plain/topic", "plain/topic"),
        ("$SYS/x", "$SYS/x"),
    ],
)
def test_remove_shared_prefix(key: str, expected: str) -> None:
    assert remove_shared_prefix(key) == expected


def test_reply_topic() -> None:
    assert reply_topic("sum") == "sum/reply"
    assert reply_topic('{"a":1,"cmd":"sum"}') == '{"a":1,"cmd":"sum"}/reply'


def test_shared_subscription() -> None:
    assert shared_subscription("g", "sum") == "$share/g/sum"
    assert shared_subscription("g", "a/+/c") == "$share/g/a/+/c"
    assert shared_subscription("g", "$share/h/x") == "$share/h/x"
    for bad in ("", "a/b", "a+", "#"):
        with pytest.raises(ValueError, match="shared subscription group"):
            shared_subscription(bad, "x")


def test_has_wildcards() -> None:
    assert has_wildcards("a/+/c")
    assert has_wildcards("a/#")
    assert not has_wildcards("a/b")


def test_conformance_case_17() -> None:
    """Keys ``a/+/c`` and ``$share/g/x/#``: the topics Nest's server routes to each."""
    matcher = HandlerMatcher(["a/+/c", "$share/g/x/#"])
    assert matcher.match("a/b/c") == "a/+/c"
    assert matcher.match("a//c") is None
    assert matcher.match("x") == "$share/g/x/#"
    assert matcher.match("x/y/z") == "$share/g/x/#"
    assert matcher.keys == ["a/+/c", "$share/g/x/#"]  # subscribed verbatim


def test_exact_key_wins_over_earlier_wildcard() -> None:
    matcher = HandlerMatcher(["a/#", "a/b"])
    assert matcher.match("a/b") == "a/b"
    assert matcher.match("a/c") == "a/#"


def test_first_matching_wildcard_in_registration_order() -> None:
    matcher = HandlerMatcher(["a/+", "+/b", "#"])
    assert matcher.match("a/b") == "a/+"
    assert matcher.match("c/b") == "+/b"
    assert matcher.match("c/d/e") == "#"


def test_shared_key_without_wildcards_matches() -> None:
    """Nest PR #12379: a shared key without wildcards matches its plain topic."""
    matcher = HandlerMatcher(["$share/g/sum"])
    assert matcher.match("sum") == "$share/g/sum"


def test_cache_is_invalidated_and_bounded() -> None:
    matcher = HandlerMatcher(["a/+"], cache_size=4)
    assert matcher.match("b/c") is None
    matcher.add("b/+")
    assert matcher.match("b/c") == "b/+"
    matcher.remove("b/+")
    assert matcher.match("b/c") is None
    for i in range(50):
        assert matcher.match(f"a/{i}") == "a/+"
    assert len(matcher._cache) <= 4
    assert "a/+" in matcher
    assert len(matcher) == 1
    matcher.add("a/+")  # adding again changes nothing
    assert matcher.keys == ["a/+"]


# The in-memory transport (core, which never imports nestpy_mqtt) routes with its own copy of
# these rules: both must agree on every filter, topic and key list.
LEVELS = st.sampled_from(["a", "b", "", "+", "#", "+x", "#y", "$share", "g"])
TOPICS = st.lists(LEVELS, min_size=1, max_size=5).map("/".join)


@settings(max_examples=500, deadline=None)
@given(TOPICS, TOPICS)
def test_the_in_memory_transport_matches_as_the_mqtt_transport(pattern: str, topic: str) -> None:
    assert topic_rules.matches(pattern, topic) is match_mqtt_pattern(pattern, topic)
    assert topic_rules.unshared(pattern) == remove_shared_prefix(pattern)


@settings(max_examples=300, deadline=None)
@given(st.lists(TOPICS, max_size=6, unique=True), TOPICS)
def test_the_in_memory_server_picks_the_handler_the_mqtt_server_picks(
    keys: list[str], topic: str
) -> None:
    assert topic_rules.first_match(keys, topic) == HandlerMatcher(keys).match(topic)


@pytest.mark.parametrize("group", ["g", "workers"])
@pytest.mark.parametrize("route", ["a/+", "$share/other/a"])
def test_the_in_memory_shared_and_reply_topics_are_mqtts(group: str, route: str) -> None:
    assert topic_rules.shared(group, route) == shared_subscription(group, route)
    assert topic_rules.reply_topic(route) == reply_topic(route)
    for bad in ("", "a/b", "a+", "#"):
        with pytest.raises(ValueError, match="Invalid shared subscription group"):
            topic_rules.shared(bad, route)
        with pytest.raises(ValueError, match="Invalid shared subscription group"):
            shared_subscription(bad, route)
