import pytest

from nestpy.microservices.patterns import (
    pattern_routes,
    route_from_channel,
    transform_pattern_to_route,
)


@pytest.mark.parametrize(
    ("pattern", "route"),
    [
        ("sum", "sum"),
        (42, "42"),
        ({"cmd": "sum"}, '{"cmd":"sum"}'),
        ({"cmd": "sum", "a": 1}, '{"a":1,"cmd":"sum"}'),
        ({"b": 1, "B": 2, "a": 3}, '{"a":3,"b":1,"B":2}'),
        ({"x": {"z": True, "y": None}}, '{"x":{"y":null,"z":true}}'),
        (["a"], '{"0":"a"}'),
        ({"n": 1.0, "f": 1.5}, '{"f":1.5,"n":1}'),
    ],
)
def test_patterns_route_like_nest(pattern, route):
    assert transform_pattern_to_route(pattern) == route


def test_object_route_received_as_topic_round_trips():
    assert route_from_channel('{"cmd":"sum","a":1}') == '{"a":1,"cmd":"sum"}'
    assert route_from_channel("sensors/+/x") == "sensors/+/x"
    assert route_from_channel("{not json") == "{not json"


def test_a_decorator_list_gives_one_route_per_pattern():
    assert pattern_routes(["a", {"cmd": "b"}]) == ["a", '{"cmd":"b"}']
