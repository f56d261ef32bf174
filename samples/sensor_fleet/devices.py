"""A simulated fleet of temperature sensors publishing plain JSON with paho-mqtt, as devices do."""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from nestpy_mqtt import MqttOptions

UNITS = ("c", "f", "k")


@dataclass(frozen=True)
class Message:
    """One reading on its topic."""

    topic: str
    seq: int
    value: float


def readings(sensors: int, per_sensor: int, seed: int = 7) -> list[Message]:
    """``sensors`` devices (``s01``...), each with a unit, each sending ``per_sensor`` readings."""
    rng = random.Random(seed)
    messages: list[Message] = []
    seq = 0
    for round_ in range(per_sensor):
        for index in range(1, sensors + 1):
            unit = UNITS[index % len(UNITS)]
            celsius = 19 + rng.random() * 6 + round_ * 0.1
            value = {"c": celsius, "f": celsius * 9 / 5 + 32, "k": celsius + 273.15}[unit]
            seq += 1
            messages.append(
                Message(f"sensors/s{index:02d}/temperature/{unit}", seq, round(value, 2))
            )
    return messages


def publish_all(options: MqttOptions, messages: list[Message]) -> None:
    """Publish every reading with QoS 1 from one plain paho client (blocking, paho's thread)."""
    v5 = options.protocol_version == 5
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"sensor-gateway-{os.getpid()}",
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    if options.username:
        password = options.password.get_secret_value() if options.password else None
        client.username_pw_set(options.username, password)
    client.connect(options.host, options.port)
    client.loop_start()
    try:
        sent = [
            client.publish(m.topic, json.dumps({"seq": m.seq, "value": m.value}), qos=1)
            for m in messages
        ]
        for info in sent:
            info.wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()
