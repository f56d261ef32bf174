"""``/metrics`` over real HTTP: messages by pattern and outcome, latency, in flight, connection
state, reconnects and client requests; labels are patterns, never topics."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from ops_app import AppModule, OpsController
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from transport_support import Harness, eventually

from nestpy.microservices import RequestTimeoutError, RpcException
from nestpy.ops import NestpyMetrics

pytestmark = pytest.mark.mqtt

LOCAL = {"health_port": 0, "health_host": "127.0.0.1"}


async def scrape(app) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"http://127.0.0.1:{app.operations.port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_messages_latency_and_client_requests_by_pattern(harness: Harness):
    app = await harness.app(AppModule, server=LOCAL)
    before = await scrape(app)
    client = harness.client()
    for numbers in ([1, 2], [3], []):
        await client.send("ops/sum", numbers)
    with pytest.raises(RpcException):
        await client.send("ops/divide", {"dividend": 1, "divisor": 0})
    assert [x async for x in client.send("ops/count", 2)] == [0, 1]
    await client.emit("ops/users/ada/created", "Ada")
    await client.emit("ops/users/bob/created", "Bob")
    with pytest.raises(RequestTimeoutError):
        await client.send("ops/nobody", 1, timeout=0.3)
    await eventually(lambda: len(app.get(OpsController).db.users) == 2)

    after = await scrape(app)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "nestpy_messages_total"
    assert delta(total, pattern="ops/sum", kind="request", outcome="success") == 3
    assert delta(total, pattern="ops/divide", kind="request", outcome="error") == 1
    assert delta(total, pattern="ops/count", kind="request", outcome="success") == 1
    assert delta(total, pattern="ops/users/+/created", kind="event", outcome="success") == 2
    server_patterns = {
        dict(labels).get("pattern") for name, labels in after if name.startswith("nestpy_handler")
    } | {dict(labels).get("pattern") for name, labels in after if name.startswith(total)}
    assert "ops/users/ada/created" not in server_patterns  # the pattern, never the topic
    assert delta("nestpy_handler_duration_seconds_count", pattern="ops/sum") == 3
    assert delta("nestpy_handler_duration_seconds_bucket", pattern="ops/sum", le="+Inf") == 3

    requests = "nestpy_client_requests_total"
    assert delta(requests, pattern="ops/sum", outcome="success") == 3
    assert delta(requests, pattern="ops/divide", outcome="error") == 1
    assert delta(requests, pattern="ops/count", outcome="success") == 1
    assert delta(requests, pattern="ops/nobody", outcome="timeout") == 1
    assert delta("nestpy_client_events_total", pattern="ops/users/ada/created") == 1
    assert delta("nestpy_client_request_duration_seconds_count", pattern="ops/sum") == 3
    assert value(after, "nestpy_transport_connected", server="ServerMqtt") == 1


async def test_in_flight_gauge_reads_the_running_handlers(harness: Harness):
    app = await harness.app(AppModule, server=LOCAL)
    controller = app.get(OpsController)
    client = harness.client()
    calls = [asyncio.ensure_future(client.send("ops/slow", 30)) for _ in range(3)]
    await eventually(lambda: len(app.server._tasks) == 3, timeout=10)
    assert value(await scrape(app), "nestpy_handlers_in_flight", server="ServerMqtt") == 3
    controller.release.set()
    assert await asyncio.gather(*calls) == ["done"] * 3
    assert value(await scrape(app), "nestpy_handlers_in_flight", server="ServerMqtt") == 0


async def test_connection_gauge_and_reconnects_follow_the_broker(private_broker):
    harness = Harness(private_broker.url)
    try:
        app = await harness.app(AppModule, server=LOCAL)
        before = value(await scrape(app), "nestpy_transport_reconnects_total", server="ServerMqtt")
        private_broker.stop()
        await eventually(lambda: str(app.status.current) != "connected", timeout=15)
        assert value(await scrape(app), "nestpy_transport_connected", server="ServerMqtt") == 0
        private_broker.start()
        await eventually(lambda: str(app.status.current) == "connected", timeout=15)
        samples = await scrape(app)
        assert value(samples, "nestpy_transport_connected", server="ServerMqtt") == 1
        assert (
            value(samples, "nestpy_transport_reconnects_total", server="ServerMqtt") == before + 1
        )
    finally:
        await harness.close()


def test_client_pattern_labels_are_bounded():
    metrics = NestpyMetrics(CollectorRegistry(), max_client_patterns=2)
    for route in ("a", "b", "devices/1", "devices/2", "a"):
        metrics.requested(route, 0.001, "success")
    registry = metrics.registry
    sample = registry.get_sample_value
    assert sample("nestpy_client_requests_total", {"pattern": "a", "outcome": "success"}) == 2
    assert sample("nestpy_client_requests_total", {"pattern": "b", "outcome": "success"}) == 1
    assert (
        sample("nestpy_client_requests_total", {"pattern": "__other__", "outcome": "success"}) == 2
    )


async def test_closing_the_last_service_restores_the_wrapped_methods(harness: Harness):
    from nestpy.microservices.handler import MessageHandler

    original = MessageHandler.invoke
    app = await harness.app(AppModule, server=LOCAL)
    assert MessageHandler.invoke is not original
    await app.close()
    assert MessageHandler.invoke is original
