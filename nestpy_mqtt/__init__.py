"""The MQTT transport for nestpy, wire-compatible with NestJS's MQTT transporter."""

from nestpy_mqtt.ack import AckPolicy
from nestpy_mqtt.client import ClientMqtt
from nestpy_mqtt.context import MqttContext
from nestpy_mqtt.errors import (
    MqttClientIdConflictError,
    MqttConnectionError,
    MqttConnectionLostError,
    MqttError,
    MqttNotInitializedError,
    MqttPublishError,
    MqttSubscribeError,
)
from nestpy_mqtt.options import MqttOptions, SubscribeOptionsModel, TlsOptions, WillOptions
from nestpy_mqtt.record_builder import MqttRecord, MqttRecordBuilder, MqttRecordOptions
from nestpy_mqtt.server import ServerMqtt
from nestpy_mqtt.status import MqttStatus, StatusStream

__all__ = [
    "AckPolicy",
    "ClientMqtt",
    "MqttClientIdConflictError",
    "MqttConnectionError",
    "MqttConnectionLostError",
    "MqttContext",
    "MqttError",
    "MqttNotInitializedError",
    "MqttOptions",
    "MqttPublishError",
    "MqttRecord",
    "MqttRecordBuilder",
    "MqttRecordOptions",
    "MqttStatus",
    "MqttSubscribeError",
    "ServerMqtt",
    "StatusStream",
    "SubscribeOptionsModel",
    "TlsOptions",
    "WillOptions",
]
