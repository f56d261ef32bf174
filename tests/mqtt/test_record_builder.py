"""MqttRecordBuilder, PUBLISH properties (merging, #14079) and MqttContext."""

from __future__ import annotations

import pytest
from paho.mqtt.client import MQTTMessage
from paho.mqtt.packettypes import PacketTypes

from nestpy_mqtt.context import MqttContext
from nestpy_mqtt.properties import (
    PublishPropertiesFactory,
    merge_user_properties,
    properties_to_dict,
    to_properties,
    user_properties_dict,
)
from nestpy_mqtt.record_builder import MqttRecord, MqttRecordBuilder, MqttRecordOptions


def test_builder_like_nest() -> None:
    record = (
        MqttRecordBuilder(":cat:")
        .set_qos(1)
        .set_retain(False)
        .set_dup(False)
        .set_properties(user_properties={"x-version": "1.0.0"})
        .build()
    )
    assert record == MqttRecord(
        ":cat:",
        MqttRecordOptions(
            qos=1, retain=False, dup=False, properties={"user_properties": {"x-version": "1.0.0"}}
        ),
    )


def test_builder_defaults_and_set_data() -> None:
    record = MqttRecordBuilder[int]().set_data(5).build()
    assert record.data == 5
    assert record.options == MqttRecordOptions()
    assert MqttRecordBuilder().build().data is None


def test_set_properties_accepts_dict_snake_and_camel_case_and_replaces() -> None:
    builder = MqttRecordBuilder("x").set_properties({"messageExpiryInterval": 60}, content_type="t")
    assert builder.build().options.properties == {
        "message_expiry_interval": 60,
        "content_type": "t",
    }
    builder.set_properties(response_topic="r")
    assert builder.build().options.properties == {"response_topic": "r"}
    builder.set_properties()
    assert builder.build().options.properties is None


@pytest.mark.parametrize(
    "name",
    [
        "payload_format_indicator",
        "message_expiry_interval",
        "topic_alias",
        "response_topic",
        "correlation_data",
        "user_properties",
        "subscription_identifier",
        "content_type",
    ],
)
def test_every_nest_property_name_is_accepted(name: str) -> None:
    props = MqttRecordBuilder().set_properties({name: 1}).build().options.properties
    assert props == {name: 1}


def test_invalid_builder_input() -> None:
    with pytest.raises(ValueError, match="QoS must be 0, 1 or 2"):
        MqttRecordBuilder().set_qos(3)
    with pytest.raises(ValueError, match="unknown MQTT record property 'session_expiry'"):
        MqttRecordBuilder().set_properties(session_expiry=1)


def test_record_accepts_options_as_a_dict() -> None:
    record = MqttRecord("d", {"qos": 2, "retain": True})  # type: ignore[arg-type]
    assert record.options == MqttRecordOptions(qos=2, retain=True)


def test_merge_user_properties_record_wins_and_never_empty() -> None:
    assert merge_user_properties({"tenant": "t"}, {"x-version": "1.0.0"}) == {
        "tenant": "t",
        "x-version": "1.0.0",
    }
    assert merge_user_properties({"a": "1"}, {"a": "2"}) == {"a": "2"}
    assert merge_user_properties([("a", "1")], None) == {"a": "1"}
    assert merge_user_properties(None, {}) is None  # Nest #14079: never an empty set
    assert merge_user_properties({}, []) is None


def test_publish_properties_factory_conformance_19() -> None:
    """Client user props ``tenant`` + record ``x-version`` on MQTT 5 (conformance case 19)."""
    factory = PublishPropertiesFactory(5, {"tenant": "t"})
    record = MqttRecordBuilder(":cat:").set_properties(
        user_properties={"x-version": "1.0.0"}, message_expiry_interval=30
    )
    props = factory.build(record.build().options.properties)
    assert props is not None
    assert user_properties_dict(props) == {"tenant": "t", "x-version": "1.0.0"}
    assert properties_to_dict(props)["message_expiry_interval"] == 30
    assert factory.build(None) is factory.default  # prebuilt, no per-message work
    assert user_properties_dict(factory.default) == {"tenant": "t"}


def test_publish_properties_factory_without_anything_is_none() -> None:
    assert PublishPropertiesFactory(5, None).build(None) is None
    assert PublishPropertiesFactory(5, {}).build({"user_properties": {}}) is None
    assert PublishPropertiesFactory(4, {"a": "b"}).build({"content_type": "x"}) is None


def test_to_properties_conversions() -> None:
    props = to_properties(
        PacketTypes.PUBLISH,
        {
            "responseTopic": "r",
            "correlation_data": "abc",
            "ContentType": "application/json",
            "user_properties": [("k", "v")],
            "topic_alias": None,
        },
    )
    assert properties_to_dict(props) == {
        "response_topic": "r",
        "correlation_data": b"abc",
        "content_type": "application/json",
        "user_properties": {"k": "v"},
    }
    subscribe = to_properties(PacketTypes.SUBSCRIBE, {"subscription_identifier": 7})
    assert subscribe is not None
    assert properties_to_dict(subscribe) == {"subscription_identifier": [7]}
    assert to_properties(PacketTypes.PUBLISH, {}) is None
    assert to_properties(PacketTypes.PUBLISH, {"user_properties": {}}) is None
    with pytest.raises(ValueError, match="invalid MQTT 5 property bogus"):
        to_properties(PacketTypes.PUBLISH, {"bogus": 1})
    with pytest.raises(ValueError, match="topic_alias"):
        to_properties(PacketTypes.PUBLISH, {"topic_alias": 0})


def test_context() -> None:
    message = MQTTMessage(mid=3, topic=b"sensors/1/temperature/c")
    message.payload = b"{}"
    ctx = MqttContext(message.topic, message)
    assert ctx.get_topic() == "sensors/1/temperature/c"
    assert ctx.get_packet().raw is message
    assert (ctx.get_packet().topic, ctx.get_packet().mid, ctx.get_packet().payload) == (
        "sensors/1/temperature/c",
        3,
        b"{}",
    )
    assert ctx.get_packet().properties.user_properties == {}
    assert ctx.get_args() == ("sensors/1/temperature/c", message)
    assert ctx.get_arg_by_index(1) is message
    assert ctx.get_arg_by_index(5) is None
    assert ctx.get_arg_by_index(-1) is None
    assert ctx.user_properties == {}
    message.properties = to_properties(PacketTypes.PUBLISH, {"user_properties": {"a": "1"}})
    ctx = MqttContext(message.topic, message)
    assert ctx.user_properties == {"a": "1"}
    assert ctx.get_packet().properties.user_properties == {"a": "1"}
