"""The NestJS wire on MQTT 5: user properties (case 19) and subscribe QoS options (case 18).

Its own broker (module scope), a Nest service with ``subscribeOptions: {qos: 1}`` and a Nest
client with the client-wide ``userProperties`` ``{tenant: 't'}``, both on protocol version 5.
"""

from __future__ import annotations

from collections.abc import Iterator

import nest_wire_facts as facts
import pytest
from interop_broker import PrivateMosquitto
from nest_peer import NestClient, NestService, ensure_node_modules
from wire_sniffer import WireSniffer

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def nest_service(mqtt_broker: PrivateMosquitto) -> Iterator[NestService]:
    ensure_node_modules()
    env = {"NEST_MQTT_CLIENT_ID": "nest-service-v5", "NEST_MQTT_SUBSCRIBE_OPTIONS": '{"qos":1}'}
    with NestService(mqtt_broker.url, protocol_version=5, extra_env=env) as svc:
        yield svc


@pytest.fixture(scope="module")
def nest_client(mqtt_broker: PrivateMosquitto) -> Iterator[NestClient]:
    ensure_node_modules()
    with NestClient(
        mqtt_broker.url, protocol_version=5, user_properties=facts.V5_CLIENT_USER_PROPERTIES
    ) as client:
        yield client


def test_record_builder_user_properties_and_qos(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    """Case 19: client-wide and record user properties merged on the PUBLISH, QoS 1."""
    result = nest_client.send("echo_props", ":cat:", qos=1, userProperties={"x-version": "1.0.0"})
    assert result == {"ok": True, "values": [{"tenant": "t", "x-version": "1.0.0"}]}
    [req] = sniffer.wait_for("echo_props")
    rid = facts.match(facts.V5_RECORD_REQUEST, req.payload)
    assert rid is not None, req.payload
    assert req.qos == facts.V5_RECORD_REQUEST_QOS
    assert req.user_properties == facts.V5_RECORD_USER_PROPERTIES
    assert req.properties == {}
    [reply] = sniffer.wait_for("echo_props/reply")
    assert reply.payload == facts.fill(facts.V5_RECORD_REPLY, rid)
    assert (reply.qos, reply.retain, reply.user_properties, reply.properties) == (0, False, [], {})


def test_record_user_property_wins_over_the_client_wide_one(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    result = nest_client.send("echo_props", 1, userProperties={"tenant": "r"})
    assert result["values"] == [{"tenant": "r"}]
    [req] = sniffer.wait_for("echo_props")
    assert req.user_properties == [("tenant", "r")]


def test_client_wide_user_properties_without_a_record(
    nest_service: NestService, nest_client: NestClient, sniffer: WireSniffer
) -> None:
    assert nest_client.send("echo_props", 1)["values"] == [{"tenant": "t"}]
    assert nest_client.emit("user_created", {"a": 1})["ok"]
    [req] = sniffer.wait_for("echo_props")
    [evt] = sniffer.wait_for("user_created")
    assert (req.qos, req.user_properties) == (0, [("tenant", "t")])
    assert evt.payload == facts.EVENT
    assert evt.user_properties == [("tenant", "t")]


def test_external_publisher_user_properties_reach_the_handler(
    nest_service: NestService, sniffer: WireSniffer
) -> None:
    sniffer.publish(
        "echo_props", b'{"id":"ext-1","data":0}', user_properties=[("a", "1"), ("b", "2")]
    )
    [reply] = sniffer.wait_for("echo_props/reply")
    assert reply.payload == b'{"response":{"a":"1","b":"2"},"isDisposed":true,"id":"ext-1"}'


def test_subscribe_options_qos_and_per_handler_qos(
    nest_service: NestService, mqtt_broker: PrivateMosquitto
) -> None:
    """Case 18: subscribeOptions {qos: 1} for every key, except extras {qos: 2} on alerts."""
    subscribed = [
        (topic, qos)
        for kind, topic, qos in mqtt_broker.client_packets("nest-service-v5")
        if kind == "SUBSCRIBE"
    ]
    for expected in facts.SERVER_SUBSCRIPTIONS_QOS1:
        assert expected in subscribed
    assert {qos for topic, qos in subscribed if topic != "alerts"} == {1}
