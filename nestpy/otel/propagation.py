"""W3C trace context in MQTT 5 user properties: injected on publish, extracted on receive.

MQTT 3.1.1 has no properties: nothing is injected, and handlers start new traces.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context

from nestpy.microservices.context import BaseRpcContext
from nestpy.ops.patching import Patch

__all__ = ["extract_context", "mqtt_publish_patch"]


def _user_properties(context: BaseRpcContext) -> dict[str, str]:
    get_packet = getattr(context, "get_packet", None)
    if get_packet is None:
        return {}
    # paho's raw properties: cheaper than MqttPacket.properties' snake_case namespace
    properties = getattr(getattr(get_packet(), "raw", None), "properties", None)
    pairs = getattr(properties, "UserProperty", None) or ()
    return {str(key): str(value) for key, value in pairs}


def extract_context(context: BaseRpcContext) -> Context | None:
    """The trace context a message carries (``traceparent``), or None to use the current one."""
    carrier = _user_properties(context)
    if "traceparent" not in carrier:
        return None
    return propagate.extract(carrier)


def mqtt_publish_patch() -> Patch | None:
    """Wrap ``ClientMqtt._publish`` to add the current trace context to MQTT 5 publishes;
    None when the MQTT transport is not installed."""
    try:
        client_module = importlib.import_module("nestpy_mqtt.client")
        records = importlib.import_module("nestpy_mqtt.record_builder")
    except ImportError:
        return None
    properties = importlib.import_module("nestpy_mqtt.properties")
    record_options = records.MqttRecordOptions

    def with_trace(options: Any, carrier: dict[str, str]) -> Any:
        built = options.properties
        if built is None or isinstance(built, Mapping):  # a record's own properties
            return _with_user_properties(options, carrier)
        # PUBLISH properties the client built already (a request's expiry): rebuild them
        values = properties.properties_to_dict(built)
        values["user_properties"] = {**values.get("user_properties", {}), **carrier}
        rebuilt = properties.to_properties(properties.PacketTypes.PUBLISH, values)
        return dataclasses.replace(options, properties=rebuilt)

    def make(original: Any) -> Any:
        def _publish(self: Any, route: str, payload: bytes, options: Any) -> Any:
            if self.options.protocol_version == 5 and _traced():
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                if carrier:
                    options = with_trace(options or record_options(), carrier)
            return original(self, route, payload, options)

        return _publish

    return Patch(client_module.ClientMqtt, "_publish", make)


def _with_user_properties(options: Any, carrier: dict[str, str]) -> Any:
    properties = dict(options.properties or {})
    user: Any = {}
    for key in ("user_properties", "userProperties", "UserProperty"):
        if key in properties:
            user = properties.pop(key)
    merged = list(user.items()) if isinstance(user, dict) else list(user or ())
    merged += carrier.items()
    properties["user_properties"] = merged
    return dataclasses.replace(options, properties=properties)


def _traced() -> bool:
    # Valid, not necessarily recording: an emit made before the connection is up publishes
    # from a task, after its span has ended; the message still belongs to that trace.
    return trace.get_current_span().get_span_context().is_valid
