"""Tracing with the SDK's in-memory exporter on a real Mosquitto: PRODUCER spans for send/emit,
CONSUMER spans for handlers, one trace across the wire with MQTT 5 (``traceparent`` in the user
properties), separate traces with MQTT 3.1.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from ops_app import AppModule, OpsController
from transport_support import Harness, eventually

from nestpy import Controller
from nestpy.microservices import MessagePattern, RpcException
from nestpy.microservices.handler import MessageHandler
from nestpy.otel import NestpyInstrumentor
from nestpy_mqtt import MqttContext, MqttRecord

pytestmark = pytest.mark.mqtt


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    NestpyInstrumentor().instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        NestpyInstrumentor().uninstrument()


def spans(exporter: InMemorySpanExporter, name: str):
    return [s for s in exporter.get_finished_spans() if s.name == name]


async def test_a_request_and_its_handler_share_one_trace_with_mqtt5(exporter, harness: Harness):
    await harness.app(AppModule)
    client = harness.client()
    assert await client.send("ops/sum", [1, 2, 3]) == 6
    await eventually(lambda: spans(exporter, "send ops/sum") and spans(exporter, "process ops/sum"))
    [producer] = spans(exporter, "send ops/sum")
    [consumer] = spans(exporter, "process ops/sum")
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert dict(producer.attributes) == {
        "messaging.system": "mqtt",
        "messaging.destination.name": "ops/sum",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
    }
    assert dict(consumer.attributes) == {
        "messaging.system": "mqtt",
        "messaging.destination.name": "ops/sum",
        "messaging.destination.template": "ops/sum",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "nestpy.handler": "OpsController.sum",
        "nestpy.kind": "request",
    }
    if harness.protocol_version == 5:
        assert consumer.context.trace_id == producer.context.trace_id
        assert consumer.parent is not None
        assert consumer.parent.span_id == producer.context.span_id
    else:  # MQTT 3.1.1 carries no properties: two traces
        assert consumer.context.trace_id != producer.context.trace_id
        assert consumer.parent is None


async def test_events_are_traced_with_the_topic_and_the_pattern(exporter, harness: Harness):
    app = await harness.app(AppModule)
    client = harness.client()
    record = MqttRecord("Ada", {"properties": {"user_properties": {"x-app": "tests"}}})
    await client.emit("ops/users/ada/created", record)
    await eventually(lambda: app.get(OpsController).db.users == ["Ada"])
    await eventually(lambda: spans(exporter, "process ops/users/+/created"))
    [producer] = spans(exporter, "send ops/users/ada/created")
    [consumer] = spans(exporter, "process ops/users/+/created")
    assert producer.attributes["messaging.operation.name"] == "emit"
    assert consumer.attributes["messaging.destination.name"] == "ops/users/ada/created"
    assert consumer.attributes["messaging.destination.template"] == "ops/users/+/created"
    assert consumer.attributes["nestpy.kind"] == "event"
    assert (consumer.context.trace_id == producer.context.trace_id) == (
        harness.protocol_version == 5
    )


async def test_failures_mark_both_spans_as_errors(exporter, harness: Harness):
    await harness.app(AppModule)
    client = harness.client()
    with pytest.raises(RpcException):
        await client.send("ops/divide", {"dividend": 1, "divisor": 0})
    await eventually(lambda: spans(exporter, "process ops/divide"))
    [producer] = spans(exporter, "send ops/divide")
    [consumer] = spans(exporter, "process ops/divide")
    assert producer.status.status_code is StatusCode.ERROR
    assert consumer.status.status_code is StatusCode.ERROR
    assert consumer.events[0].name == "exception"


async def test_a_stream_is_one_producer_span_over_every_value(exporter, harness: Harness):
    await harness.app(AppModule)
    client = harness.client()
    assert [n async for n in client.send("ops/count", 3)] == [0, 1, 2]
    await eventually(lambda: spans(exporter, "send ops/count"))
    [producer] = spans(exporter, "send ops/count")
    [consumer] = spans(exporter, "process ops/count")
    assert producer.status.status_code is StatusCode.UNSET
    assert (consumer.context.trace_id == producer.context.trace_id) == (
        harness.protocol_version == 5
    )


async def test_uninstrument_restores_the_methods_and_stops_tracing(harness: Harness):
    original = MessageHandler.invoke
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    NestpyInstrumentor().instrument(tracer_provider=provider)
    assert MessageHandler.invoke is not original
    NestpyInstrumentor().uninstrument()
    assert MessageHandler.invoke is original
    await harness.app(AppModule)
    assert await harness.client().send("ops/sum", [1]) == 1
    assert exporter.get_finished_spans() == ()


@Controller()
class PropertiesController:
    @MessagePattern("ops/otel/properties")
    def properties(self, data: object, context: MqttContext) -> dict[str, str]:
        return context.user_properties


async def test_the_trace_context_joins_the_callers_own_user_properties(exporter, harness: Harness):
    if harness.protocol_version != 5:
        pytest.skip("user properties need MQTT 5")
    await harness.service(PropertiesController)
    client = harness.client(user_properties={"x-client": "tests"})
    record = MqttRecord({}, {"properties": {"user_properties": {"x-request": "42"}}})
    received = await client.send("ops/otel/properties", record)
    [producer] = spans(exporter, "send ops/otel/properties")
    trace_id = format(producer.context.trace_id, "032x")
    span_id = format(producer.context.span_id, "016x")
    flags = format(producer.context.trace_flags, "02x")
    assert received == {
        "x-client": "tests",
        "x-request": "42",
        "traceparent": f"00-{trace_id}-{span_id}-{flags}",
    }
