"""Test helpers for the MQTT transport: a private Mosquitto broker."""

from nestpy_mqtt.testing.broker import (
    MosquittoBroker,
    MosquittoNotFoundError,
    find_mosquitto,
    free_port,
)

__all__ = ["MosquittoBroker", "MosquittoNotFoundError", "find_mosquitto", "free_port"]
