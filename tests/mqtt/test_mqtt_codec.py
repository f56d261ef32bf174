"""The sans-I/O MQTT codec: framing at every split point, remaining-length boundaries,
PUBLISH round trips (3.1.1 and 5 with properties), truncated and malformed input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nestpy_mqtt._codec import (
    MAX_REMAINING_LENGTH,
    MalformedPacket,
    Packet,
    PacketReader,
    Publish,
    decode_properties,
    decode_publish,
    decode_remaining_length,
    encode_properties,
    encode_publish,
    encode_remaining_length,
)
from nestpy_mqtt._fast_publish import (
    publish_fixed_header,
    publish_topic_header,
    split_qos0_publish,
    split_qos0_publish_v5,
)

BOUNDARIES = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX_REMAINING_LENGTH]

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_property = st.one_of(
    st.tuples(st.just(0x01), st.integers(0, 1)),
    st.tuples(st.just(0x02), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(0x03), _text),
    st.tuples(st.just(0x08), _text),
    st.tuples(st.just(0x09), st.binary(max_size=20)),
    st.tuples(st.just(0x0B), st.integers(1, MAX_REMAINING_LENGTH)),
    st.tuples(st.just(0x23), st.integers(1, 65535)),
    st.tuples(st.just(0x26), st.tuples(_text, _text)),
)


@st.composite
def publishes(draw: st.DrawFn, mqtt5: bool) -> Publish:
    qos = draw(st.integers(0, 2))
    return Publish(
        topic=draw(st.binary(min_size=1, max_size=40)),
        payload=draw(st.binary(max_size=300)),
        qos=qos,
        retain=draw(st.booleans()),
        dup=draw(st.booleans()),
        mid=draw(st.integers(1, 65535)) if qos else 0,
        properties=tuple(draw(st.lists(_property, max_size=5))) if mqtt5 else (),
    )


@st.composite
def streams(draw: st.DrawFn) -> tuple[bool, list[Publish], bytes]:
    mqtt5 = draw(st.booleans())
    messages = draw(st.lists(publishes(mqtt5), min_size=1, max_size=6))
    return mqtt5, messages, b"".join(encode_publish(m, mqtt5) for m in messages)


def _decode_all(packets: list[Packet], mqtt5: bool) -> list[Publish]:
    return [decode_publish(p.first, p.body, mqtt5) for p in packets]


# remaining length -----------------------------------------------------------------------------
@pytest.mark.parametrize("value", BOUNDARIES)
def test_remaining_length_boundaries_round_trip_with_the_right_width(value: int) -> None:
    encoded = encode_remaining_length(value)
    width = 1 if value < 128 else 2 if value < 16_384 else 3 if value < 2_097_152 else 4
    assert len(encoded) == width
    assert decode_remaining_length(encoded, 0) == (value, width)
    assert decode_remaining_length(encoded[:-1], 0) is None  # cut short: wait for more


@given(st.integers(0, MAX_REMAINING_LENGTH))
def test_remaining_length_round_trips(value: int) -> None:
    encoded = encode_remaining_length(value)
    assert decode_remaining_length(b"x" + encoded, 1) == (value, 1 + len(encoded))


def test_remaining_length_beyond_four_bytes_is_malformed() -> None:
    with pytest.raises(MalformedPacket, match="4 bytes"):
        decode_remaining_length(b"\xff\xff\xff\xff\x01", 0)
    with pytest.raises(ValueError, match="outside"):
        encode_remaining_length(MAX_REMAINING_LENGTH + 1)


@pytest.mark.parametrize("size", [127, 128, 16_383, 16_384, 2_097_151, 2_097_152])
def test_packets_at_the_length_boundaries_are_framed_whole(size: int) -> None:
    # A payload filling the remaining length exactly to the boundary, then a small packet.
    topic = b"t"
    payload = bytes(size - 3)  # 2-byte topic length + 1-byte topic
    big = encode_publish(Publish(topic, payload), mqtt5=False)
    small = encode_publish(Publish(b"s", b"after"), mqtt5=False)
    assert decode_remaining_length(big, 1) == (size, len(big) - size)
    reader = PacketReader()
    head = len(big) - size  # feed the header, then everything else in two pieces
    assert reader.feed(big[:head]) == []
    assert reader.feed(big[head:-1]) == []
    packets = reader.feed(big[-1:] + small)
    assert _decode_all(packets, False) == [Publish(topic, payload), Publish(b"s", b"after")]
    assert reader.pending == 0


# framing --------------------------------------------------------------------------------------
@settings(max_examples=150)
@given(streams(), st.data())
def test_every_split_point_gives_the_same_packets(stream, data: st.DataObject) -> None:
    mqtt5, messages, wire = stream
    cut = data.draw(st.integers(0, len(wire)), label="cut")
    reader = PacketReader()
    packets = reader.feed(wire[:cut]) + reader.feed(wire[cut:])
    assert _decode_all(packets, mqtt5) == messages
    assert reader.pending == 0


@settings(max_examples=60)
@given(streams())
def test_one_byte_feeds_give_the_same_packets(stream) -> None:
    mqtt5, messages, wire = stream
    reader = PacketReader()
    packets: list[Packet] = []
    for i in range(len(wire)):
        packets += reader.feed(wire[i : i + 1])
    assert _decode_all(packets, mqtt5) == messages


@settings(max_examples=100)
@given(streams(), st.lists(st.integers(1, 64), min_size=1))
def test_coalesced_and_arbitrary_chunks_give_the_same_packets(stream, sizes: list[int]) -> None:
    mqtt5, messages, wire = stream
    reader = PacketReader()
    packets: list[Packet] = []
    pos, i = 0, 0
    while pos < len(wire):
        step = sizes[i % len(sizes)]
        packets += reader.feed(wire[pos : pos + step])
        pos, i = pos + step, i + 1
    assert _decode_all(packets, mqtt5) == messages


@given(streams(), st.data())
def test_a_truncated_stream_holds_the_unfinished_packet(stream, data: st.DataObject) -> None:
    mqtt5, messages, wire = stream
    last = encode_publish(messages[-1], mqtt5)
    cut = data.draw(st.integers(1, len(last) - 1), label="cut")
    reader = PacketReader()
    packets = reader.feed(wire[:-cut])
    assert _decode_all(packets, mqtt5) == messages[:-1]
    assert reader.pending == len(last) - cut


def test_a_header_longer_than_four_bytes_is_malformed() -> None:
    with pytest.raises(MalformedPacket):
        PacketReader().feed(b"\x30\x80\x80\x80\x80\x01")


def test_a_packet_over_the_limit_is_refused_before_it_is_buffered() -> None:
    reader = PacketReader(max_packet_size=1000)
    with pytest.raises(MalformedPacket, match="exceeds the limit"):
        reader.feed(b"\x30" + encode_remaining_length(1001))


# PUBLISH --------------------------------------------------------------------------------------
@given(st.booleans().flatmap(lambda v5: st.tuples(st.just(v5), publishes(v5))))
def test_publish_round_trips(case: tuple[bool, Publish]) -> None:
    mqtt5, message = case
    wire = encode_publish(message, mqtt5)
    [packet] = PacketReader().feed(wire)
    assert decode_publish(packet.first, packet.body, mqtt5) == message


def test_a_v5_publish_with_user_properties_matches_the_spec_bytes() -> None:
    message = Publish(b"a/b", b"hi", qos=1, mid=10, properties=((0x26, ("k", "v")),))
    wire = encode_publish(message, mqtt5=True)
    # fixed header (17 bytes follow), topic, packet id, properties (7 bytes), payload
    assert wire == b"\x32\x11\x00\x03a/b\x00\x0a\x07\x26\x00\x01k\x00\x01vhi"


def test_properties_agree_with_paho_both_ways() -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 5
    props.ContentType = "application/json"
    props.UserProperty = [("k", "v"), ("tenant", "é")]
    props.CorrelationData = b"\x00\x01"
    block = props.pack()  # length-prefixed
    length, start = decode_remaining_length(block, 0)
    ours = decode_properties(block[start:])
    assert ours == (
        (0x02, 5),
        (0x03, "application/json"),
        (0x09, b"\x00\x01"),
        (0x26, ("k", "v")),
        (0x26, ("tenant", "é")),
    )
    assert length == len(block) - start
    assert encode_remaining_length(length) + encode_properties(ours) == block


@given(st.booleans().flatmap(lambda v5: st.tuples(st.just(v5), publishes(v5))), st.data())
@example(case=(False, Publish(b"t", b"p", qos=1, mid=1)), data=None)
def test_truncated_publish_bodies_are_malformed_never_misread(case, data) -> None:
    mqtt5, message = case
    wire = encode_publish(message, mqtt5)
    [packet] = PacketReader().feed(wire)
    body = packet.body
    end = len(body) - len(message.payload)  # everything before the payload is required
    cut = data.draw(st.integers(0, end - 1), label="cut") if data is not None else end - 1
    with pytest.raises(MalformedPacket):
        decode_publish(packet.first, body[:cut], mqtt5)


@pytest.mark.parametrize(
    ("first", "body", "mqtt5", "match"),
    [
        (0x36, b"\x00\x01t\x00\x01", False, "QoS 3"),
        (0x32, b"\x00\x01t\x00\x00", False, "identifier 0"),
        (0x30, b"\x00\x05t", False, "runs past"),
        (0x30, b"\x00\x01t\x05\x01", True, "run past"),
        (0x30, b"\x00\x01t\x02\x7f\x00", True, "unknown"),
        (0x30, b"\x00\x01t\x04\x03\x00\x01\xff", True, "UTF-8"),
        (0x20, b"\x00\x00", False, "not a PUBLISH"),
    ],
)
def test_malformed_publish_packets_raise(first: int, body: bytes, mqtt5: bool, match: str) -> None:
    with pytest.raises(MalformedPacket, match=match):
        decode_publish(first, body, mqtt5)


@given(st.integers(0, 255), st.binary(max_size=64), st.booleans())
def test_arbitrary_bytes_decode_or_raise_malformed(first: int, body: bytes, mqtt5: bool) -> None:
    with contextlib.suppress(MalformedPacket):
        decode_publish(first, body, mqtt5)


@given(st.binary(max_size=200))
def test_arbitrary_streams_frame_or_raise_malformed(wire: bytes) -> None:
    reader = PacketReader()
    try:
        packets = reader.feed(wire)
    except MalformedPacket:
        return
    assert sum(len(p.body) for p in packets) + reader.pending <= len(wire)


# the receive hot path agrees with the full decoder ------------------------------------------
@given(streams(), st.data())
def test_the_qos0_fast_split_agrees_with_the_decoder(stream, data: st.DataObject) -> None:
    mqtt5, _messages, wire = stream
    cut = data.draw(st.integers(0, len(wire)), label="cut")
    buf = wire[:cut]
    pos = 0
    reader = PacketReader()
    complete = reader.feed(buf)
    for packet in complete:
        decoded = decode_publish(packet.first, packet.body, mqtt5)
        split = split_qos0_publish(buf, pos, mqtt5)
        plain = decoded.qos == 0 and not decoded.properties
        if plain:
            assert split is not None
            topic, payload, _end = split
            assert (topic, payload) == (decoded.topic, decoded.payload)
        else:
            assert split is None
        pos += len(encode_publish(decoded, mqtt5))
        assert split is None or split[2] == pos
    if pos < len(buf):  # the unfinished packet at the end is never delivered
        assert split_qos0_publish(buf, pos, mqtt5) is None


@given(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30),
    st.binary(max_size=200),
    st.booleans(),
    st.booleans(),
)
def test_the_write_headers_make_a_publish_the_decoder_reads(
    topic: str, payload: bytes, retain: bool, mqtt5: bool
) -> None:
    header = publish_topic_header(topic, mqtt5)
    if header is None:
        assert any(c in topic for c in "+#\x00")
        return
    fixed = publish_fixed_header(retain, len(header) + len(payload))
    assert fixed is not None
    [packet] = PacketReader().feed(fixed + header + payload)
    assert decode_publish(packet.first, packet.body, mqtt5) == Publish(
        topic.encode(), payload, retain=retain
    )
    assert publish_fixed_header(False, MAX_REMAINING_LENGTH + 1) is None


# MQTT 5 properties on the receive hot path --------------------------------------------------
def _paho_takes_as_it_is(properties: tuple[tuple[int, object], ...]) -> bool:
    """What the fast path delivers itself: no topic alias, no repeated single-valued property,
    no U+0000/U+FEFF in strings (paho refuses those), payload format 0/1, subscription id > 0."""
    single = [ident for ident, _ in properties if ident not in (0x0B, 0x26)]
    if 0x23 in single or len(single) != len(set(single)):
        return False
    for ident, value in properties:
        texts = value if ident == 0x26 else (value,)
        if any(isinstance(t, str) and ("\x00" in t or "\ufeff" in t) for t in texts):
            return False
    return True


@given(streams(), st.data())
def test_the_v5_fast_split_agrees_with_the_decoder(stream, data: st.DataObject) -> None:
    mqtt5, _messages, wire = stream
    if not mqtt5:
        return
    cut = data.draw(st.integers(0, len(wire)), label="cut")
    buf = wire[:cut]
    pos = 0
    for packet in PacketReader().feed(buf):
        decoded = decode_publish(packet.first, packet.body, True)
        split = split_qos0_publish_v5(buf, pos)
        if decoded.qos == 0 and _paho_takes_as_it_is(decoded.properties):
            assert split is not None
            assert split[:3] == (decoded.topic, decoded.properties, decoded.payload)
        else:
            assert split is None
        pos += len(encode_publish(decoded, True))
        assert split is None or split[3] == pos
    if pos < len(buf):
        assert split_qos0_publish_v5(buf, pos) is None


@pytest.mark.parametrize(
    "properties",
    [
        ((0x23, 7),),  # topic alias: paho's
        ((0x02, 5), (0x02, 6)),  # a single-valued property twice
        ((0x01, 2),),  # payload format indicator other than 0/1
        ((0x0B, 0),),  # subscription identifier 0
        ((0x26, ("k", "a\x00b")),),  # NUL in a string
        ((0x03, "\ufeffjson"),),  # U+FEFF in a string
        ((0x11, 5),),  # session expiry: not a PUBLISH property
    ],
    ids=["alias", "repeated", "format", "subid0", "nul", "bom", "not-publish"],
)
def test_the_v5_fast_split_leaves_what_paho_treats_specially_to_paho(properties) -> None:
    wire = encode_publish(Publish(b"t", b"p", properties=properties), mqtt5=True)
    assert split_qos0_publish_v5(wire, 0) is None


@given(st.binary(max_size=80))
def test_the_v5_fast_split_never_raises_on_malformed_properties(block: bytes) -> None:
    body = b"\x00\x01t" + encode_remaining_length(len(block)) + block + b"payload"
    wire = b"\x30" + encode_remaining_length(len(body)) + body
    split = split_qos0_publish_v5(wire, 0)
    if split is not None:  # then the full decoder reads the same
        decoded = decode_publish(0x30, body, True)
        assert split[:3] == (decoded.topic, decoded.properties, decoded.payload)


_mqtt_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufeff"))
_paho_property = st.one_of(
    st.tuples(st.just("PayloadFormatIndicator"), st.integers(0, 1)),
    st.tuples(st.just("MessageExpiryInterval"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("ContentType"), _mqtt_text),
    st.tuples(st.just("ResponseTopic"), _mqtt_text),
    st.tuples(st.just("CorrelationData"), st.binary(max_size=20)),
    st.tuples(st.just("SubscriptionIdentifier"), st.integers(1, MAX_REMAINING_LENGTH)),
    st.tuples(st.just("UserProperty"), st.tuples(_mqtt_text, _mqtt_text)),
)


@given(st.lists(_paho_property, max_size=6))
@example([("UserProperty", ("traceparent", "00-x-y-01")), ("MessageExpiryInterval", 5)])
def test_paho_properties_pack_and_unpack_as_paho_does(assignments) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from nestpy_mqtt._paho_compat import ReceivedProperties, pack_properties

    assert ReceivedProperties.prepare() is None
    props = Properties(PacketTypes.PUBLISH)
    for name, value in assignments:
        if name not in ("UserProperty", "SubscriptionIdentifier") and hasattr(props, name):
            continue
        setattr(props, name, value)
    packed = pack_properties(props)
    assert packed == props.pack()  # the wire stays byte-identical to paho's
    wire = b"\x30" + encode_remaining_length(3 + len(packed) + 2) + b"\x00\x01t" + packed + b"pl"
    split = split_qos0_publish_v5(wire, 0)
    theirs = Properties(PacketTypes.PUBLISH)
    theirs.unpack(packed)
    assert split is not None
    ours = ReceivedProperties(split[1])
    assert isinstance(ours, Properties)
    assert ours.json() == theirs.json()
    assert str(ours) == str(theirs)
    assert ours.pack() == props.pack()


def test_a_topic_alias_is_published_by_paho() -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from nestpy_mqtt._paho_compat import ReceivedProperties, pack_properties

    assert ReceivedProperties.prepare() is None
    props = Properties(PacketTypes.PUBLISH)
    props.TopicAlias = 3
    assert pack_properties(props) is None
    other = Properties(PacketTypes.CONNECT)
    other.SessionExpiryInterval = 5
    assert pack_properties(other) is None  # not PUBLISH properties: paho decides
