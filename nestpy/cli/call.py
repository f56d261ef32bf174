"""``nestpy send`` and ``nestpy emit``: one request or event to a running service, over MQTT."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from nestpy.cli.loader import CliError
from nestpy.microservices.exceptions import RpcException


def parse_pattern(text: str) -> Any:
    """A JSON object (``{"cmd": "sum"}``) is an object pattern; anything else is a string."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"PATTERN looks like a JSON object but is not valid JSON: {exc}"
            raise CliError(msg) from None
    return text


def parse_data(text: str) -> Any:
    """The payload, as JSON: ``'[1, 2, 3]'``, ``'{"id": 1}'``, ``'"text"'``, ``42``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"DATA must be JSON (quote strings: '\"text\"'): {exc}"
        raise CliError(msg) from None


def _record(data: Any, qos: int | None) -> Any:
    if qos is None:
        return data
    from nestpy_mqtt import MqttRecordBuilder

    return MqttRecordBuilder(data).set_qos(qos).build()


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False), flush=True)


async def send(options: Any, pattern: Any, data: Any, timeout: float, qos: int | None) -> int:
    """Send a request and print each value of the reply as one JSON line."""
    from nestpy_mqtt import ClientMqtt

    client = ClientMqtt(options)
    try:
        async for value in client.send(pattern, _record(data, qos), timeout=timeout):
            _print(value)
    except RpcException as exc:
        print(f"nestpy send: error reply: {json.dumps(exc.error)}", file=sys.stderr)
        return 1
    finally:
        await client.close()
    return 0


async def emit(options: Any, pattern: Any, data: Any, timeout: float, qos: int | None) -> int:
    """Publish an event; returns once the broker has it (QoS 1 and 2) or it is written."""
    from nestpy_mqtt import ClientMqtt

    client = ClientMqtt(options)
    try:
        sent = client.emit(pattern, _record(data, qos))
        try:
            async with asyncio.timeout(timeout):
                await sent
        except TimeoutError:
            sent.cancel()
            msg = f"Could not publish to {options.url} within {timeout:g} s. Is the broker up?"
            print(f"nestpy emit: {msg}", file=sys.stderr)
            return 1
    finally:
        await client.close()
    return 0
