"""Connection and client behaviour around the fast paths: buffered socket, reconnects, timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from nestpy.microservices.exceptions import RequestTimeoutError
from nestpy_mqtt import ClientMqtt, MqttOptions
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.status import MqttStatus
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt

FAST = {"reconnect_min_delay": 0.05, "reconnect_max_delay": 0.2}


async def eventually(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def connections() -> AsyncIterator[Callable[..., MqttConnection]]:
    made: list[MqttConnection] = []

    def make(
        url: str,
        on_message: Callable[[Any], None] | None = None,
        version: int = 4,
        **options: Any,
    ) -> MqttConnection:
        conn = MqttConnection(
            MqttOptions(url=url, protocol_version=version, **FAST, **options),
            on_message=on_message or (lambda _m: None),
        )
        made.append(conn)
        return conn

    yield make
    for conn in made:
        await conn.close()


async def subscribed_pair(
    connections: Callable[..., MqttConnection], url: str, topic: str
) -> tuple[list[bytes], MqttConnection, MqttConnection]:
    """The payloads a subscriber to ``topic`` receives, the subscriber and a publisher."""
    got: list[bytes] = []
    sub = connections(url, lambda m: got.append(m.payload))
    pub = connections(url)
    await sub.connect()
    await pub.connect()
    await sub.subscribe(topic, qos=0)
    return got, sub, pub


async def test_giving_up_on_connect_during_a_reconnect_does_not_stop_it(
    private_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    conn = connections(private_broker.url)
    await conn.connect()
    private_broker.stop()
    await asyncio.wait_for(conn.status.wait_for(MqttStatus.RECONNECTING), 5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(conn.connect(), 0.1)  # the only waiter gives up
    private_broker.start()
    await asyncio.wait_for(conn.status.wait_for(MqttStatus.CONNECTED), 10)  # by itself
    await asyncio.wait_for(conn.connect(), 5)
    assert conn.status.current is MqttStatus.CONNECTED


async def test_large_and_many_messages_arrive_whole_and_in_order(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection], mqtt_version: int
) -> None:
    got: list[bytes] = []
    done = asyncio.Event()
    big = bytes(range(256)) * 1200  # 300 KiB: several reads
    small = [f"m{i}".encode() for i in range(3000)]

    def on_message(message: Any) -> None:
        got.append(message.payload)
        if len(got) == len(small) + 2:
            done.set()

    sub = connections(mqtt_broker.url, on_message, mqtt_version)
    pub = connections(mqtt_broker.url, version=mqtt_version)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("fast/burst", qos=0)
    pub.publish("fast/burst", big)
    for payload in small:
        pub.publish("fast/burst", payload)
    await pub.publish_and_wait("fast/burst", big, qos=1)
    await asyncio.wait_for(done.wait(), 10)
    assert got[0] == big
    assert got[-1] == big
    assert got[1:-1] == small


async def test_a_burst_with_nothing_after_it_is_delivered_whole(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    got, _sub, pub = await subscribed_pair(connections, mqtt_broker.url, "fast/quiet")
    sent = [str(i).encode() for i in range(5000)]
    for payload in sent:
        pub.publish("fast/quiet", payload)
    await eventually(lambda: len(got) >= len(sent), 10)
    assert got == sent


async def test_per_topic_callbacks_on_the_paho_client_still_receive(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection], mqtt_version: int
) -> None:
    seen: list[tuple[str, bytes]] = []
    other: list[bytes] = []
    sub = connections(mqtt_broker.url, lambda m: other.append(m.payload), mqtt_version)
    pub = connections(mqtt_broker.url, version=mqtt_version)
    await sub.connect()
    await pub.connect()
    sub.unwrap().message_callback_add(
        "fast/cb/#", lambda _c, _u, m: seen.append((m.topic, m.payload))
    )
    await sub.subscribe("fast/cb/#", qos=0)
    await sub.subscribe("fast/plain", qos=0)
    pub.publish("fast/cb/1", b"to the callback")
    await pub.publish_and_wait("fast/plain", b"to on_message", qos=1)
    await eventually(lambda: bool(seen and other), 5)
    assert seen == [("fast/cb/1", b"to the callback")]
    assert other == [b"to on_message"]


async def test_on_accepts_nest_event_names_and_end_follows_close(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    conn = connections(mqtt_broker.url)
    seen: list[str] = []
    conn.on("close", lambda: seen.append("close"))
    conn.on("end", lambda: seen.append("end"))
    conn.on("packetsend", lambda *_: seen.append("packetsend"))
    conn.on("packetreceive", lambda *_: seen.append("packetreceive"))
    await conn.connect()
    await conn.close()
    assert seen == ["close", "end"]
    with pytest.raises(ValueError, match="Unknown MQTT event"):
        conn.on("packetsent", lambda: None)


async def test_a_zero_timeout_is_a_timeout_not_the_default(mqtt_broker: MosquittoBroker) -> None:
    client = ClientMqtt(MqttOptions(url=mqtt_broker.url, request_timeout=30))
    try:
        await client.connect()
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(client.send("nobody/listens", 1, timeout=0), 5)
    finally:
        await client.close()


async def test_emit_when_connected_returns_a_completed_future(
    mqtt_broker: MosquittoBroker,
) -> None:
    client = ClientMqtt(MqttOptions(url=mqtt_broker.url))
    try:
        first = client.emit("fast/event", {"n": 1})  # not connected yet: waits to connect
        await asyncio.wait_for(first, 5)
        second = client.emit("fast/event", {"n": 2})
        assert second.done()
        await second
    finally:
        await client.close()


@pytest.mark.parametrize("how", ["default", "option-off", "env-off"])
async def test_the_fast_path_switches_off_and_messages_still_flow(
    mqtt_broker: MosquittoBroker,
    connections: Callable[..., MqttConnection],
    mqtt_version: int,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nestpy_mqtt._buffered_socket import BufferedSocket

    if how == "env-off":
        monkeypatch.setenv("NESTPY_MQTT_FAST_PATH", "false")
    extra = {"fast_path": False} if how == "option-off" else {}
    got: list[bytes] = []
    sub = connections(mqtt_broker.url, lambda m: got.append(m.payload), mqtt_version, **extra)
    pub = connections(mqtt_broker.url, version=mqtt_version, **extra)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("fast/switch", qos=0)
    sent = [str(i).encode() for i in range(2000)]
    for payload in sent:
        pub.publish("fast/switch", payload)
    await eventually(lambda: len(got) >= len(sent), 10)
    assert got == sent
    assert isinstance(sub.unwrap().socket(), BufferedSocket) is (how == "default")


def test_a_paho_without_the_fast_path_internals_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nestpy_mqtt import _paho_compat

    monkeypatch.setattr(_paho_compat, "_warned", False)
    with caplog.at_level("WARNING", logger="nestpy.mqtt.connection"):
        assert _paho_compat.PahoInternals.check(object()) is None  # type: ignore[arg-type]
        assert _paho_compat.PahoInternals.check(object()) is None  # type: ignore[arg-type]
    [record] = caplog.records
    assert "Client._sock" in record.getMessage()
    assert "paho's own" in record.getMessage()


async def test_fast_path_messages_keep_pahos_keepalive_clock(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    # The QoS 0 PUBLISH packets read by the fast path never pass through paho: its keepalive
    # clock (paho 2.2: _last_bytes_received, 2.1: _last_msg_in) must still move with them.
    got, sub, pub = await subscribed_pair(connections, mqtt_broker.url, "fast/clock")
    internals = sub._bridge.internals  # type: ignore[union-attr]
    assert internals is not None
    await asyncio.sleep(0.3)
    quiet_since = internals.last_received()
    pub.publish("fast/clock", b"tick")
    await eventually(lambda: bool(got), 5)
    assert internals.last_received() > quiet_since


RICH = {
    "user_properties": {"tenant": "acme", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    "response_topic": "rich/reply",
    "correlation_data": b"\x00req-1",
    "message_expiry_interval": 30,
    "content_type": "application/json",
    "payload_format_indicator": 1,
}


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "paho-path"])
async def test_handlers_see_the_same_mqtt5_properties_on_both_paths(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection], fast_path: bool
) -> None:
    from nestpy_mqtt.context import MqttContext
    from nestpy_mqtt.properties import to_properties

    got: list[Any] = []
    sub = connections(mqtt_broker.url, got.append, 5, fast_path=fast_path)
    pub = connections(mqtt_broker.url, version=5, fast_path=fast_path)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("rich/props", qos=0)
    pub.publish("rich/props", b"{}", properties=to_properties(3, RICH))
    pub.publish("rich/props", b"{}", properties=to_properties(3, {"user_properties": {"a": "1"}}))
    await eventually(lambda: len(got) == 2, 10)
    rich, plain = (MqttContext("rich/props", m) for m in got)
    seen = rich.get_packet().properties
    assert seen.user_properties == RICH["user_properties"]
    assert rich.user_properties == RICH["user_properties"]
    assert (seen.response_topic, seen.correlation_data) == ("rich/reply", b"\x00req-1")
    assert (seen.message_expiry_interval, seen.content_type) == (30, "application/json")
    assert (seen.payload_format_indicator, seen.topic_alias) == (1, None)
    assert got[0].properties.MessageExpiryInterval == 30  # paho's names, for server.py
    assert got[0].properties.UserProperty == list(RICH["user_properties"].items())
    assert plain.user_properties == {"a": "1"}
    assert plain.get_packet().properties.response_topic is None


async def test_mqtt5_user_properties_keep_the_fast_path_both_ways(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    from paho.mqtt.properties import Properties

    from nestpy_mqtt._paho_compat import ReceivedProperties
    from nestpy_mqtt.properties import to_properties

    got: list[Any] = []
    sub = connections(mqtt_broker.url, got.append, 5, user_properties={"side": "sub"})
    pub = connections(mqtt_broker.url, version=5, user_properties={"tenant": "acme"})
    await sub.connect()
    await pub.connect()
    await sub.subscribe("fast/props", qos=0)
    bridge = pub._bridge
    assert bridge is not None
    written: list[bool] = []
    send = bridge.send_publish

    def counting(*args: Any) -> bool:
        written.append(send(*args))
        return written[-1]

    bridge.send_publish = counting  # type: ignore[method-assign]
    expiry = to_properties(3, {"message_expiry_interval": 5, "user_properties": {"k": "v"}})
    pub.publish("fast/props", b"1", properties=pub.properties.default)  # client-wide
    pub.publish("fast/props", b"2", properties=expiry)
    await eventually(lambda: len(got) == 2, 10)
    assert written == [True, True]  # written by the bridge, not by paho
    assert pub.unwrap().want_write() is False
    for message in got:
        assert type(message.properties) is ReceivedProperties  # read by the codec
        assert isinstance(message.properties, Properties)
    assert got[0].properties.UserProperty == [("tenant", "acme")]
    assert got[1].properties.MessageExpiryInterval == 5
    assert got[1].properties.UserProperty == [("k", "v")]


async def test_a_topic_alias_is_published_by_paho_and_still_arrives(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    from nestpy_mqtt.properties import to_properties

    got: list[Any] = []
    sub = connections(mqtt_broker.url, got.append, 5)
    pub = connections(mqtt_broker.url, version=5)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("fast/alias", qos=0)
    alias = to_properties(3, {"topic_alias": 1})
    pub.publish("fast/alias", b"set", properties=alias)  # paho: the alias is set up
    await eventually(lambda: len(got) == 1, 10)
    assert [(m.topic, m.payload) for m in got] == [("fast/alias", b"set")]


@pytest.fixture
def tls_url(broker_factory: Callable[..., MosquittoBroker], tmp_path: Any) -> tuple[str, str]:
    from nestpy_mqtt.testing import free_port, tls

    try:
        certs = tls.make_certificates(tmp_path)
    except tls.OpenSSLNotFoundError:
        pytest.skip("openssl not found")
    port = free_port()
    broker_factory(extra_config=tls.tls_listener(port, certs)).start()
    return f"mqtts://127.0.0.1:{port}", str(certs / "ca.crt")


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "paho-path"])
async def test_tls_takes_the_buffered_path_and_messages_arrive_whole_and_in_order(
    tls_url: tuple[str, str],
    connections: Callable[..., MqttConnection],
    mqtt_version: int,
    fast_path: bool,
) -> None:
    import ssl

    from nestpy_mqtt._buffered_socket import BufferedSocket

    url, ca = tls_url
    got: list[bytes] = []
    tls = {"ca_certs": ca}
    sub = connections(
        url, lambda m: got.append(m.payload), mqtt_version, tls=tls, fast_path=fast_path
    )
    pub = connections(url, version=mqtt_version, tls=tls, fast_path=fast_path)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("tls/order", qos=0)
    big = bytes(range(256)) * 1200  # 300 KiB: many TLS records, partial sends
    sent = [big, *(f"m{i}".encode() for i in range(3000)), big[::-1]]
    for payload in sent:
        pub.publish("tls/order", payload)
    await eventually(lambda: len(got) >= len(sent), 20)
    assert got == sent
    for conn in (sub, pub):
        sock = conn.unwrap().socket()
        assert isinstance(sock, BufferedSocket) is fast_path
        assert isinstance(sock.sock if fast_path else sock, ssl.SSLSocket)  # type: ignore[union-attr]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "paho-path"])
async def test_qos0_messages_the_fast_path_parsed_are_nestpy_messages_the_rest_paho_ones(
    mqtt_broker: MosquittoBroker,
    connections: Callable[..., MqttConnection],
    mqtt_version: int,
    fast_path: bool,
) -> None:
    import paho.mqtt.client as mqtt

    from nestpy_mqtt.context import MqttContext
    from nestpy_mqtt.message import ReceivedMessage

    got: list[Any] = []
    events: list[Any] = []
    sub = connections(mqtt_broker.url, got.append, mqtt_version, fast_path=fast_path)
    pub = connections(mqtt_broker.url, version=mqtt_version)
    sub.on("message", events.append)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("kind/#", qos=1)
    pub.publish("kind/zero", b"q0", retain=False)
    await pub.publish_and_wait("kind/one", b"q1", qos=1)
    await eventually(lambda: len(got) == 2 and len(events) == 2, 10)
    zero, one = got
    assert type(zero) is (ReceivedMessage if fast_path else mqtt.MQTTMessage)
    assert type(one) is mqtt.MQTTMessage
    assert events == got  # the connection's `message` event gets the same objects
    for message, topic, payload, qos in (
        (zero, "kind/zero", b"q0", 0),
        (one, "kind/one", b"q1", 1),
    ):
        packet = MqttContext(topic, message).get_packet()
        assert packet.raw is message
        assert (packet.topic, packet.payload, packet.qos) == (topic, payload, qos)
        assert (packet.retain, packet.dup) == (False, False)
        assert (packet.mid == 0) == (qos == 0)
        assert packet.properties.user_properties == {}
        assert (message.properties is None) == (mqtt_version == 4)


async def test_per_topic_callbacks_get_paho_messages_on_the_fast_path(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    import paho.mqtt.client as mqtt

    seen: list[Any] = []
    sub = connections(mqtt_broker.url)
    pub = connections(mqtt_broker.url)
    await sub.connect()
    await pub.connect()
    sub.unwrap().message_callback_add("typed/#", lambda _c, _u, m: seen.append(m))
    await sub.subscribe("typed/#", qos=0)
    pub.publish("typed/1", b"x", retain=False)
    await eventually(lambda: bool(seen), 5)
    assert type(seen[0]) is mqtt.MQTTMessage
    assert (seen[0].topic, seen[0].payload, seen[0].qos) == ("typed/1", b"x", 0)


def test_a_received_message_reads_like_paho_s_including_invalid_utf8_topics() -> None:
    from nestpy_mqtt._paho_compat import invalid_topic, raw_topic
    from nestpy_mqtt.message import ReceivedMessage

    message = ReceivedMessage(b"a/b", b"data", True, True, None)
    assert (message.topic, message.payload, message.qos, message.mid) == ("a/b", b"data", 0, 0)
    assert (message.retain, message.dup, message.properties) == (True, True, None)
    assert (raw_topic(message), invalid_topic(message)) == (b"a/b", None)
    bad = ReceivedMessage(b"a/\xff", b"")
    with pytest.raises(UnicodeDecodeError):
        _ = bad.topic
    assert invalid_topic(bad) == b"a/\xff"


async def test_a_lone_publish_is_written_at_once_and_a_burst_in_one_flush(
    mqtt_broker: MosquittoBroker, connections: Callable[..., MqttConnection]
) -> None:
    got, _sub, pub = await subscribed_pair(connections, mqtt_broker.url, "eager/one")
    bridge = pub._bridge
    assert bridge is not None
    pub.publish("eager/one", b"first")  # no loop iteration in between: on the wire already
    assert bridge.buffered_bytes == 0
    pub.publish("eager/one", b"second")  # the same iteration: waits for the flush
    pub.publish("eager/one", b"third")
    assert bridge.buffered_bytes > 0
    await asyncio.sleep(0)
    assert bridge.buffered_bytes == 0
    pub.publish("eager/one", b"fourth")  # the first since that flush: at once again
    assert bridge.buffered_bytes == 0
    await eventually(lambda: len(got) == 4, 5)
    assert got == [b"first", b"second", b"third", b"fourth"]


def test_mqtt5_properties_of_a_received_message_are_made_once_when_first_read() -> None:
    from nestpy_mqtt._paho_compat import ReceivedProperties
    from nestpy_mqtt.message import ReceivedMessage

    assert ReceivedProperties.prepare() is None
    made: list[Any] = []

    def make(pairs: Any) -> Any:
        made.append(pairs)
        return ReceivedProperties(pairs)

    pairs = ((0x08, "answers"), (0x26, ("k", "v")), (0x26, ("k", "w")))
    message = ReceivedMessage(b"a", b"", False, False, None, make, pairs)
    assert made == []
    first = message.properties
    assert first is message.properties
    assert made == [pairs]
    assert (first.ResponseTopic, first.UserProperty) == ("answers", [("k", "v"), ("k", "w")])
    assert first.json() == ReceivedProperties(pairs).json()
    message.properties = None
    assert message.properties is None
    unread = ReceivedMessage(b"a", b"", False, False, None, make, pairs)
    unread.properties = first
    assert unread.properties is first
    assert made == [pairs]
