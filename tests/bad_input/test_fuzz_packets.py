"""Property test: 10,000 random packets (random bytes, random JSON, random packet-shaped
objects) at a live service on a private Mosquitto; after every batch it still answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transport_support import FAST, make_module

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern, Transport, create_microservice
from nestpy_mqtt import ClientMqtt, MqttOptions
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
T = TypeVar("T")

BATCH = 50
EXAMPLES = 200  # 200 batches of 50 packets: 10,000 packets
TOPICS = ["fuzz/sum", "fuzz/echo", "fuzz/stream", "fuzz/event", "fuzz/sum/reply"]


@Controller()
class FuzzController:
    def __init__(self) -> None:
        self.events = 0

    @MessagePattern("fuzz/sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("fuzz/echo")
    async def echo(self, data: Any) -> Any:
        return data

    @MessagePattern("fuzz/stream")
    def stream(self, data: Any) -> Iterator[Any]:
        yield data
        yield from data if isinstance(data, list) else ()

    @EventPattern("fuzz/event")
    def event(self, data: dict[str, int]) -> None:
        self.events += 1


class LiveService:
    """A service, a client and a raw publisher on their own event loop in a thread, so that a
    synchronous hypothesis test can drive them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.published = 0
        self.run(self._start())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        options = MqttOptions(url=self.url, **FAST)
        self.app = await create_microservice(
            make_module([FuzzController]), transport=Transport.MQTT, options=options
        )
        await self.app.listen()
        self.client = ClientMqtt(options)
        self.raw = MqttConnection(options, on_message=lambda _m: None)
        await self.raw.connect()

    async def blast(self, packets: list[tuple[str, bytes]]) -> int:
        for topic, payload in packets:
            self.raw.publish(topic, payload)
        self.published += len(packets)
        # Replies travel the same path as the packets: once this is answered, the batch was read.
        result: int = await self.client.send("fuzz/sum", [self.published, 1], timeout=10)
        return result

    async def _stop(self) -> None:
        await self.raw.close()
        await self.client.close()
        await self.app.close()

    def close(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def live(mqtt_broker: MosquittoBroker) -> Iterator[LiveService]:
    service = LiveService(mqtt_broker.url)
    try:
        yield service
    finally:
        service.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
packet_shaped = st.fixed_dictionaries(
    {"pattern": json_values | st.sampled_from(TOPICS), "data": json_values},
    optional={"id": json_values | st.text(max_size=10), "isDisposed": json_values},
)
payloads = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    packet_shaped.map(lambda v: json.dumps(v).encode()),
    packet_shaped.map(lambda v: json.dumps(v).encode()[: len(json.dumps(v)) // 2]),
)
packets = st.lists(st.tuples(st.sampled_from(TOPICS), payloads), min_size=BATCH, max_size=BATCH)


@pytest.mark.timeout(150)  # about 30 s alone; most of it is hypothesis drawing the packets
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=packets)
def test_random_packets_never_stop_the_service(live: LiveService, batch: list[Any]) -> None:
    before = live.published
    assert live.run(live.blast(batch)) == before + len(batch) + 1
