"""Fixtures shared by every test folder: private Mosquitto brokers.

Never the system broker on port 1883: every broker here is a subprocess on a free port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError


def _broker(**kwargs: Any) -> MosquittoBroker:
    try:
        return MosquittoBroker(**kwargs)
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[MosquittoBroker]:
    """One broker for the whole session; tests must use unique topics."""
    with _broker() as broker:
        yield broker


@pytest.fixture
def private_broker() -> Iterator[MosquittoBroker]:
    """A broker for one test, free to stop, restart or kill."""
    with _broker() as broker:
        yield broker


@pytest.fixture
def broker_factory() -> Iterator[Callable[..., MosquittoBroker]]:
    """Build (not start) brokers with custom settings; all are closed after the test."""
    made: list[MosquittoBroker] = []

    def make(**kwargs: Any) -> MosquittoBroker:
        broker = _broker(**kwargs)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        broker.close()


@pytest.fixture(params=[4, 5], ids=["mqtt311", "mqtt5"])
def mqtt_version(request: pytest.FixtureRequest) -> int:
    """MQTT protocol version: 4 (3.1.1) and 5."""
    return int(request.param)
