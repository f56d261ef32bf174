"""Fixtures for the NestJS interop tests: a private Mosquitto per test module.

``mqtt_broker`` starts ``mosquitto`` on a free port of 127.0.0.1 (the project's
``MosquittoBroker``, with every log type on so that tests can check the SUBSCRIBE/UNSUBSCRIBE
traffic, which a sniffing client cannot see) and stops it after the module.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from interop_broker import PrivateMosquitto
from nest_peer import NestClient, NestReference, NestService, ensure_node_modules
from wire_sniffer import WireSniffer


@pytest.fixture(scope="module")
def mqtt_broker() -> Iterator[PrivateMosquitto]:
    """A private Mosquitto for the test module (``.url``, ``.host``, ``.port``, ``.log()``)."""
    with PrivateMosquitto() as broker:
        yield broker


@pytest.fixture(scope="module")
def nest_service(mqtt_broker: PrivateMosquitto) -> Iterator[NestService]:
    """The stock NestJS service of nest_app/service.js (MQTT 3.1.1, client id ``nest-service``)."""
    ensure_node_modules()
    with NestService(mqtt_broker.url, extra_env={"NEST_MQTT_CLIENT_ID": "nest-service"}) as svc:
        yield svc


@pytest.fixture(scope="module")
def nest_client(mqtt_broker: PrivateMosquitto) -> Iterator[NestClient]:
    """A stock NestJS ClientMqtt (nest_app/client.js, MQTT 3.1.1, client id ``nest-client``)."""
    ensure_node_modules()
    with NestClient(mqtt_broker.url, extra_env={"NEST_MQTT_CLIENT_ID": "nest-client"}) as client:
        yield client


@pytest.fixture
def sniffer(mqtt_broker: PrivateMosquitto) -> Iterator[WireSniffer]:
    """A raw paho client recording every PUBLISH on the module's broker (also a publisher)."""
    with WireSniffer(mqtt_broker.url) as sniffing:
        yield sniffing


@pytest.fixture(scope="module")
def broker_v5() -> Iterator[PrivateMosquitto]:
    """A second private broker for the module's MQTT 5 peers."""
    with PrivateMosquitto() as broker:
        yield broker


@pytest.fixture
def sniffer_v5(broker_v5: PrivateMosquitto) -> Iterator[WireSniffer]:
    """The ``sniffer`` of ``broker_v5``."""
    with WireSniffer(broker_v5.url) as sniffing:
        yield sniffing


@pytest.fixture(scope="module")
def nest_reference() -> Iterator[NestReference]:
    """Nest service ``nest-ref-service`` + Nest client, MQTT 3.1.1, on a second broker."""
    ensure_node_modules()
    with (
        PrivateMosquitto() as broker,
        NestService(broker.url, extra_env={"NEST_MQTT_CLIENT_ID": "nest-ref-service"}) as svc,
        NestClient(broker.url) as client,
        WireSniffer(broker.url) as sniffing,
    ):
        yield NestReference(broker, svc, client, sniffing)
