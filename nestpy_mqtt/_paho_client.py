"""Build a paho client from ``MqttOptions`` (``MqttConnection`` is its only owner)."""

from __future__ import annotations

import socket
import ssl
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes

from nestpy_mqtt._paho_compat import ManualAckClient
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.properties import to_properties

__all__ = ["build_client", "reconnect"]

_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def build_client(opts: MqttOptions, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """Return a paho client (callback API 2) configured from ``opts``, not yet connected.

    ``manual_ack``: received QoS 1/2 messages are acknowledged only by ``_paho_compat.send_ack``.
    """
    v5 = opts.protocol_version == 5
    client = (ManualAckClient if manual_ack else mqtt.Client)(
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
