"""Build a paho client from ``MqttOptions`` (``MqttConnection`` is its only owner)."""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.properties import to_properties

__all__ = ["build_client", "fast_delivery", "reconnect", "send_ack"]

_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


class _ManualAckClient(mqtt.Client):
    """paho's client with every QoS 1/2 acknowledgement left to ``send_ack``.

    paho's own ``manual_ack`` sends PUBREC at once and delays only PUBCOMP, which loses a
    QoS 2 message when the process dies while handling it, and never completes a PUBREL the
    broker resends after a restart. Here a QoS 2 message is delivered on PUBLISH and
    acknowledged (PUBREC) by ``send_ack``; PUBREL is answered with PUBCOMP at once.
    """

    def _handle_publish(self) -> MQTTErrorCode:
        in_packet = self._in_packet
        if in_packet["command"] & 0x06 != 0x04:  # not QoS 2: paho's way
            return super()._handle_publish()
        result = _packet.decode_publish(in_packet["command"], in_packet["packet"], self._protocol)
        message = mqtt.MQTTMessage(mid=result.mid, topic=result.topic)
        message.dup = result.dup
        message.qos = result.qos
        message.retain = result.retain
        message.properties = result.properties
        message.payload = result.payload
        message.timestamp = mqtt.time_func()
        self._handle_on_message(message)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_pubrel(self) -> MQTTErrorCode:
        (mid,) = struct.unpack_from("!H", self._in_packet["packet"])
        return self._send_pubcomp(mid)


def send_ack(client: mqtt.Client, mid: int, qos: int) -> None:
    """Acknowledge a received message on a client built with ``manual_ack=True``."""
    if qos == 1:
        client.ack(mid, 1)  # PUBACK
    elif qos == 2:
        client._send_pubrec(mid)


def build_client(opts: MqttOptions, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """Return a paho client (callback API 2) configured from ``opts``, not yet connected.

    ``manual_ack``: received QoS 1/2 messages are acknowledged only by ``send_ack``.
    """
    v5 = opts.protocol_version == 5
    client = (_ManualAckClient if manual_ack else mqtt.Client)(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if v5 else opts.clean_session,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        transport=opts.transport,
        reconnect_on_failure=False,
        manual_ack=manual_ack,
    )
    client.connect_timeout = opts.handshake_timeout
    client.max_inflight_messages_set(opts.max_inflight_messages)
    client.max_queued_messages_set(opts.max_queued_messages)
    if opts.username is not None or opts.password is not None:
        password = opts.password.get_secret_value() if opts.password else None
        client.username_pw_set(opts.username, password)
    if opts.transport == "websockets":
        client.ws_set_options(path=opts.websocket_path, headers=opts.ws_header_values())
    if (tls := opts.tls) is not None:
        key_password = tls.keyfile_password.get_secret_value() if tls.keyfile_password else None
        client.tls_set(
            ca_certs=tls.ca_certs,
            certfile=tls.certfile,
            keyfile=tls.keyfile,
            cert_reqs=_CERT_REQS[tls.cert_reqs],
            ciphers=tls.ciphers,
            keyfile_password=key_password,
        )
        client.tls_insecure_set(tls.insecure or tls.cert_reqs == "none")
    if (will := opts.will) is not None:
        props = to_properties(PacketTypes.WILLMESSAGE, will.properties) if v5 else None
        client.will_set(will.topic, will.payload, will.qos, will.retain, properties=props)
    if not v5:
        client.connect_async(opts.host, opts.port, opts.keepalive)
        return client
    values = dict(opts.connect_properties or {})
    if opts.session_expiry_interval is not None:
        values.setdefault("session_expiry_interval", opts.session_expiry_interval)
    properties = to_properties(PacketTypes.CONNECT, values)
    clean = opts.clean_session
    client.connect_async(
        opts.host, opts.port, opts.keepalive, clean_start=clean, properties=properties
    )
    return client


def reconnect(client: mqtt.Client) -> None:
    """Run paho's blocking ``reconnect()`` (DNS, TCP, TLS/WebSocket handshake, CONNECT).

    paho 2.2 leaks the new socket when the TLS or WebSocket handshake fails; close what its
    frames still hold, so that the failure does not leave an open file descriptor behind.
    """
    try:
        client.reconnect()
    except BaseException as exc:
        _close_sockets_in(exc.__traceback__)
        raise


def _close_sockets_in(tb: TracebackType | None) -> None:
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__") == mqtt.__name__:
            for value in list(frame.f_locals.values()):
                if isinstance(value, socket.socket):
                    value.close()
        tb = tb.tb_next


_RECEIVED = mqtt.MQTTMessageInfo(0)  # shared by fast-path messages: received, never waited on


def fast_delivery(
    client: mqtt.Client, on_message: Callable[[Any, Any, mqtt.MQTTMessage], None], mqtt5: bool
) -> Callable[[bytes, bytes, int], None]:
    """Deliver a QoS 0 PUBLISH the bridge parsed: paho's ``MQTTMessage``, built as paho does
    (without its per-message lock), to ``on_message``, or through paho's dispatch when
    per-topic callbacks (``message_callback_add``) or another ``on_message`` are installed."""
    new_message = mqtt.MQTTMessage.__new__
    message_type = mqtt.MQTTMessage
    invalid = mqtt.mqtt_ms_invalid
    filtered = client._on_message_filtered._root._children
    clock = time.monotonic

    def deliver(topic: bytes, payload: bytes, first: int) -> None:
        message = new_message(message_type)
        message.timestamp = clock()
        message.state = invalid
        message.dup = bool(first & 0x08)
        message.mid = 0
        message._topic = topic
        message.payload = payload
        message.qos = 0
        message.retain = bool(first & 0x01)
        message.info = _RECEIVED
        message.properties = Properties(PacketTypes.PUBLISH) if mqtt5 else None  # type: ignore[no-untyped-call]
        if filtered or client._on_message is not on_message:
            client._handle_on_message(message)
        else:
            on_message(client, None, message)

    return deliver
