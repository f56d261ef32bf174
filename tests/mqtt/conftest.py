"""Fixtures for the MQTT transport tests: connections with fast reconnect delays.

The private brokers (``mqtt_broker``, ``private_broker``, ``broker_factory``) and
``mqtt_version`` come from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from transport_support import harness, sniffer  # noqa: F401 - shared fixtures

from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.options import MqttOptions

FAST = {"reconnect_min_delay": 0.05, "reconnect_max_delay": 0.2}


@pytest.fixture
async def connection_factory() -> AsyncIterator[Callable[..., MqttConnection]]:
    """Create ``MqttConnection``s (fast reconnect delays); all are closed after the test."""
    made: list[MqttConnection] = []

    def make(
        url: str, *, on_message: Callable[[Any], None] | None = None, **options: Any
    ) -> MqttConnection:
        conn = MqttConnection(
            MqttOptions(url=url, **{**FAST, **options}),
            on_message=on_message or (lambda _msg: None),
        )
        made.append(conn)
        return conn

    yield make
    for conn in made:
        await conn.close()
