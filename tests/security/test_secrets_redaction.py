"""No secret in any message: passwords (in the URL or not) and WebSocket headers never appear
in validation errors (their text, ``errors()``, ``json()``), ``repr``/``str``, dumps, log
records or exceptions, and an ambiguous URL is refused with a way to fix it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pydantic import ValidationError

from nestpy_mqtt import MqttConnectionError, MqttOptions
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.testing import free_port

MARK = "Zq9"  # in every secret below; must never be seen
FIX = "urllib.parse.quote(password, safe='')"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("NESTPY_MQTT_"):
            monkeypatch.delenv(name)


def validation_texts(error: ValidationError) -> list[str]:
    """Every way a validation error is commonly shown or logged."""
    return [str(error), repr(error), error.json(), repr(error.errors()), str(error.errors())]


def assert_no_secret(*texts: Any) -> None:
    for text in texts:
        assert MARK not in str(text)


@pytest.mark.parametrize(
    "url",
    [
        f"mqtt://alice:{MARK}/4sh@host:1883",  # '/' in the password: was "invalid port 'Zq9'"
        f"mqtt://alice:1234/{MARK}@host",  # was accepted as host 'alice', port 1234
        f"mqtt://alice:p@ss{MARK}@host:1883",
        f"mqtt://alice:s3c#{MARK}@host",
        f"mqtt://alice:s3c?{MARK}@host",
        f"mqtts://alice:[{MARK}]@host",
        f"mqtt://alice:100%{MARK}@host",
        f"alice:{MARK}@host:1883",  # no scheme
        f"http://alice:{MARK}@host",
    ],
)
def test_an_ambiguous_url_is_refused_without_echoing_the_secret(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        MqttOptions(url=url)
    texts = validation_texts(info.value)
    assert_no_secret(*texts)
    assert "1234" not in texts[0]
    if not url.startswith("http"):
        assert FIX in texts[0]  # says how to encode the password


def test_an_encoded_password_is_accepted() -> None:
    from urllib.parse import quote

    password = f"{MARK}/4:s@h#?%"
    options = MqttOptions(url=f"mqtt://alice:{quote(password, safe='')}@host:1883")
    assert (options.host, options.port, options.username) == ("host", 1883, "alice")
    assert options.password is not None
    assert options.password.get_secret_value() == password
    assert options.url == "mqtt://host:1883"


def test_no_validation_error_holds_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as info:
        MqttOptions(
            url=f"mqtt://alice:{MARK}url@host",
            password=f"{MARK}pw",
            ws_headers={"Authorization": f"Bearer {MARK}"},
            tls={"keyfile_password": f"{MARK}key", "cert_reqs": "sometimes"},
            reconnect_min_delay=5,
            reconnect_max_delay=1,  # a check between two options: was a model-wide error
            keepalive=-1,
        )
    assert len(info.value.errors()) == 3
    assert_no_secret(*validation_texts(info.value))

    monkeypatch.setenv("NESTPY_MQTT_URL", f"mqtt://alice:{MARK}/x@host")
    monkeypatch.setenv("NESTPY_MQTT_WS_HEADERS", f'{{"Authorization": "Bearer {MARK}"}}')
    monkeypatch.setenv("NESTPY_MQTT_KEEPALIVE", "-1")
    with pytest.raises(ValidationError) as info:
        MqttOptions()
    assert_no_secret(*validation_texts(info.value))


def test_options_never_show_a_secret() -> None:
    options = MqttOptions(
        url=f"wss://alice:{MARK}%2Furl@broker/mqtt",
        ws_headers={"Authorization": f"Bearer {MARK}tok", "X-Tenant": "t1"},
        tls={"keyfile_password": f"{MARK}key"},
    )
    assert_no_secret(
        repr(options),
        str(options),
        options.model_dump(),
        options.model_dump_json(),
        dict(options),
        options.url,
    )
    assert options.password is not None
    assert options.password.get_secret_value() == f"{MARK}/url"
    assert options.ws_header_values() == {"Authorization": f"Bearer {MARK}tok", "X-Tenant": "t1"}
    assert "X-Tenant" in repr(options)  # header names stay visible


def test_an_error_built_with_a_credentialed_url_redacts_it() -> None:
    error = MqttConnectionError("boom", url=f"mqtt://alice:{MARK}@host:1883", client_id="c")
    assert_no_secret(str(error), repr(error), error.url)
    assert "mqtt://***@host:1883" in str(error)


@pytest.mark.parametrize("scheme", ["mqtt", "ws"])
async def test_a_failed_connect_logs_and_raises_nothing_secret(
    scheme: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    options = MqttOptions(
        url=f"{scheme}://alice:{MARK}pw@127.0.0.1:{port}",
        ws_headers={"Authorization": f"Bearer {MARK}tok"},
        client_id="secretive",
        connect_timeout=0.5,
        reconnect_min_delay=0.05,
    )
    conn = MqttConnection(options, on_message=lambda _m: None)
    events: list[BaseException] = []
    conn.on("error", events.append)
    try:
        with pytest.raises(MqttConnectionError) as info:
            await conn.connect()
    finally:
        await conn.close()
    assert "waiting for the MQTT broker" in caplog.text  # the attempts were logged
    assert f"127.0.0.1:{port}" in str(info.value)  # where, still
    assert_no_secret(
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        str(info.value),
        repr(info.value),
        info.value.url,
        conn.url,
        conn.last_error,
        *events,
    )


async def test_the_websocket_handshake_carries_the_real_header(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    requests: list[bytes] = []

    async def not_a_broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_a_broker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = MqttOptions(
        url=f"ws://127.0.0.1:{port}/mqtt",
        ws_headers={"Authorization": f"Bearer {MARK}tok"},
        connect_timeout=0.3,
        reconnect_min_delay=0.05,
    )
    conn = MqttConnection(options, on_message=lambda _m: None)
    try:
        with pytest.raises(MqttConnectionError) as info:
            await conn.connect()
    finally:
        await conn.close()
        server.close()
        await server.wait_closed()
    assert requests
    assert f"Authorization: Bearer {MARK}tok".encode() in requests[0]
    assert_no_secret(caplog.text, str(info.value), repr(info.value))
