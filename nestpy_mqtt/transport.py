"""The MQTT transport as ``nestpy.microservices`` finds it: the ``mqtt`` entry point of the
``nestpy.transports`` group (``Transport.MQTT``)."""

from __future__ import annotations

from typing import Any

from nestpy.microservices.transports import TransportImplementation
from nestpy_mqtt.client import ClientMqtt
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.server import ServerMqtt
from nestpy_mqtt.workers import with_shared_group

__all__ = ["MQTT"]


def build_server(
    options: MqttOptions | None, *, workers: int = 1, **server_options: Any
) -> ServerMqtt:
    """``ServerMqtt`` for ``workers`` processes: with a shared group when ``workers`` > 1."""
    if workers != 1:
        options = with_shared_group(options, workers)
    return ServerMqtt(options, **server_options)


MQTT = TransportImplementation(ServerMqtt, ClientMqtt, build_server)
"""``Transport.MQTT``."""
