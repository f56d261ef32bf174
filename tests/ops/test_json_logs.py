"""``nestpy run --log-format json``: every line is a JSON object; each message handled gets a
line with its pattern, topic, request id, duration and outcome."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
from test_cli_health import nestpy_run

from nestpy.microservices import ClientProxyFactory, RpcException, Transport
from nestpy_mqtt import MqttOptions

pytestmark = pytest.mark.mqtt


async def test_json_lines_with_one_line_per_message(mqtt_broker):
    service = nestpy_run(mqtt_broker, "--log-format", "json")
    client = ClientProxyFactory.create(
        transport=Transport.MQTT, options=MqttOptions(url=mqtt_broker.url)
    )
    try:
        for _ in range(200):  # the service subscribes once it is up: retry until it answers
            try:
                assert await client.send("ops/sum", [1, 2], timeout=0.5) == 3
                break
            except Exception:
                await asyncio.sleep(0.1)
        with pytest.raises(RpcException):
            await client.send("ops/divide", {"dividend": 1, "divisor": 0}, timeout=10)
        await client.emit("ops/users/ada/created", "Ada")
        await client.send("ops/sum", [], timeout=10)  # the event is handled before this reply
        service.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(service.communicate, timeout=30)
    finally:
        await client.close()
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert service.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    assert any(
        line["message"].startswith("Nest microservice successfully started") for line in lines
    )
    handled = [line for line in lines if line["logger"] == "nestpy.messages"]
    sums = [line for line in handled if line["pattern"] == "ops/sum"]
    assert sums[-1]["outcome"] == "success"
    assert sums[-1]["kind"] == "request"
    assert sums[-1]["topic"] == "ops/sum"
    assert isinstance(sums[-1]["request_id"], str)
    assert len(sums[-1]["request_id"]) == 21
    assert sums[-1]["duration_ms"] >= 0
    assert sums[-1]["level"] == "info"
    [divide] = [line for line in handled if line["pattern"] == "ops/divide"]
    assert (divide["outcome"], divide["level"]) == ("error", "warning")
    [event] = [line for line in handled if line["pattern"] == "ops/users/+/created"]
    assert event["topic"] == "ops/users/ada/created"
    assert event["kind"] == "event"
    assert "request_id" not in event
    assert set(event) >= {"time", "level", "logger", "pid", "message", "duration_ms", "outcome"}
