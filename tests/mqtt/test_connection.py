"""MqttConnection against real, private Mosquitto brokers (paho is never mocked)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nestpy.errors import NestpyError
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.context import MqttContext
from nestpy_mqtt.errors import (
    MqttClientIdConflictError,
    MqttConnectionError,
    MqttConnectionLostError,
    MqttNotInitializedError,
    MqttPublishError,
    MqttSubscribeError,
)
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.status import MqttStatus, StatusStream
from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError, free_port

pytestmark = pytest.mark.mqtt

Factory = Callable[..., MqttConnection]
C, D, R, X = (
    MqttStatus.CONNECTED,
    MqttStatus.DISCONNECTED,
    MqttStatus.RECONNECTING,
    MqttStatus.CLOSED,
)


async def record(stream: StatusStream) -> list[MqttStatus]:
    """Collect every status the stream reports, from now on, in a background task."""
    seen: list[MqttStatus] = []

    async def consume() -> None:
        async for status in stream:
            seen.append(status)

    task = asyncio.get_running_loop().create_task(consume())
    _background.add(task)
    task.add_done_callback(_background.discard)
    await asyncio.sleep(0)  # let it subscribe
    return seen


_background: set[asyncio.Task[None]] = set()


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Inbox:
    """on_message target: a queue of received messages."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def __call__(self, message: Any) -> None:
        self.queue.put_nowait(message)

    async def get(self, timeout: float = 5.0) -> Any:
        return await asyncio.wait_for(self.queue.get(), timeout)


# status stream -------------------------------------------------------------------------------
async def test_status_stream_replays_last_and_drops_duplicates() -> None:
    stream = StatusStream()
    assert stream.current is None
    early = await record(stream)
    stream.push(C)
    stream.push(C)
    stream.push(R)
    late = await record(stream)
    stream.push(C)
    await asyncio.sleep(0.01)
    assert early == [C, R, C]
    assert late == [R, C]
    assert stream.current is C
    await asyncio.wait_for(stream.wait_for(C), 1)
    assert str(MqttStatus.RECONNECTING) == "reconnecting"


# connect / close -----------------------------------------------------------------------------
async def test_connect_close_status_and_unwrap(
    mqtt_broker: MosquittoBroker, connection_factory: Factory
) -> None:
    conn = connection_factory(mqtt_broker.url)
    with pytest.raises(MqttNotInitializedError) as info:
        conn.unwrap()
    assert str(info.value) == 'Not initialized. Please call the "connect" method first.'
    seen = await record(conn.status)
    events: list[str] = []
    conn.on("connect", lambda session_present: events.append(f"connect:{session_present}"))
    conn.on("close", lambda: events.append("close"))
    await asyncio.gather(conn.connect(), conn.connect())  # idempotent, one attempt
    await conn.connect()
    assert conn.is_connected
    assert conn.unwrap().is_connected()
    await conn.close()
    await conn.close()
    await asyncio.sleep(0.01)
    assert not conn.is_connected
    assert seen == [C, X]
    assert events == ["connect:False", "close"]
    with pytest.raises(ValueError, match="Unknown MQTT event 'bogus'"):
        conn.on("bogus", print)


async def test_reconnect_after_close(
    mqtt_broker: MosquittoBroker, connection_factory: Factory
) -> None:
    inbox = Inbox()
    conn = connection_factory(mqtt_broker.url, on_message=inbox)
    await conn.connect()
    await conn.close()
    await conn.connect()
    await conn.subscribe("again/t")
    conn.publish("again/t", b"x")
    assert (await inbox.get()).payload == b"x"


async def test_operations_before_connect_fail_clearly(connection_factory: Factory) -> None:
    conn = connection_factory("mqtt://127.0.0.1:1")
    with pytest.raises(MqttPublishError, match="Not initialized"):
        conn.publish("t", b"x")
    with pytest.raises(MqttConnectionError, match="call connect"):
        await conn.subscribe("t")


# messages ------------------------------------------------------------------------------------
async def test_round_trip_between_two_connections(
    mqtt_broker: MosquittoBroker, connection_factory: Factory, mqtt_version: int
) -> None:
    inbox = Inbox()
    sub = connection_factory(mqtt_broker.url, on_message=inbox, protocol_version=mqtt_version)
    pub = connection_factory(
        mqtt_broker.url, protocol_version=mqtt_version, user_properties={"tenant": "t"}
    )
    await asyncio.gather(sub.connect(), pub.connect())
    topic = f"rt{mqtt_version}"
    assert await sub.subscribe(f"{topic}/+/temperature/+", qos=1) == 1
    assert sub.subscriptions[f"{topic}/+/temperature/+"].qos == 1
    props = pub.properties.build({"user_properties": {"x-version": "1.0.0"}})
    pub.publish(f"{topic}/1/temperature/c", b'{"v": 21.5}', properties=props)
    message = await inbox.get()
    ctx = MqttContext(message.topic, message)
    assert ctx.get_topic() == f"{topic}/1/temperature/c"
    assert message.payload == b'{"v": 21.5}'
    if mqtt_version == 5:
        assert ctx.user_properties == {"tenant": "t", "x-version": "1.0.0"}
    else:
        assert ctx.user_properties == {}
    await sub.unsubscribe(f"{topic}/+/temperature/+")
    assert sub.subscriptions == {}
    pub.publish(f"{topic}/2/temperature/c", b"ignored")
    await pub.publish_and_wait(f"{topic}/sync", b"", qos=1)  # round trip: ignored one is gone
    await asyncio.sleep(0.05)
    assert inbox.queue.empty()


async def test_qos_futures(
    mqtt_broker: MosquittoBroker, connection_factory: Factory, mqtt_version: int
) -> None:
    conn = connection_factory(mqtt_broker.url, protocol_version=mqtt_version)
    await conn.connect()
    assert conn.publish("qos/0", b"a") is None
    one = conn.publish("qos/1", b"b", qos=1)
    two = conn.publish("qos/2", b"c", qos=2)
    assert one is not None
    assert two is not None
    assert list(await asyncio.wait_for(asyncio.gather(one, two), 5)) == [None, None]
    await conn.publish_and_wait("qos/1", b"d", qos=1, retain=True)
    await conn.publish_and_wait("qos/1", b"", qos=1, retain=True)  # clear the retained one


async def test_pending_qos1_publish_fails_on_close(
    mqtt_broker: MosquittoBroker, connection_factory: Factory
) -> None:
    conn = connection_factory(mqtt_broker.url)
    await conn.connect()
    future = conn.publish("pending/q1", b"x", qos=1)
    await conn.close()  # before the PUBACK can be read
    assert future is not None
    with pytest.raises(MqttConnectionLostError, match="closed"):
        await future


async def test_replies_published_inside_on_message(
    mqtt_broker: MosquittoBroker, connection_factory: Factory
) -> None:
    """A server-style echo: publishes made in on_message are flushed after the read."""
    inbox = Inbox()
    server: MqttConnection

    def echo(message: Any) -> None:
        server.publish(message.topic + "/reply", message.payload)

    server = connection_factory(mqtt_broker.url, on_message=echo)
    client = connection_factory(mqtt_broker.url, on_message=inbox)
    await asyncio.gather(server.connect(), client.connect())
    await server.subscribe("echo/+")
    await client.subscribe("echo/+/reply")
    for i in range(200):
        client.publish(f"echo/{i % 3}", str(i).encode())
    payloads = sorted([int((await inbox.get()).payload) for _ in range(200)])
    assert payloads == list(range(200))


async def test_handler_exception_does_not_break_the_connection(
    mqtt_broker: MosquittoBroker, connection_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[bytes] = []

    def handler(message: Any) -> None:
        seen.append(message.payload)
        if message.payload == b"boom":
            raise RuntimeError("handler bug")

    conn = connection_factory(mqtt_broker.url, on_message=handler)
    await conn.connect()
    await conn.subscribe("crash/t")
    conn.publish("crash/t", b"boom")
    conn.publish("crash/t", b"after")
    await eventually(lambda: seen == [b"boom", b"after"])
    assert conn.is_connected
    assert "message handler failed" in caplog.text


# failures ------------------------------------------------------------------------------------
async def test_broker_down_with_connect_timeout(connection_factory: Factory) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    conn = connection_factory(url, connect_timeout=0.5, client_id="svc-down")
    seen = await record(conn.status)
    started = time.monotonic()
    with pytest.raises(MqttConnectionError) as info:
        await conn.connect()
    assert time.monotonic() - started < 2
    error = info.value
    assert isinstance(error, NestpyError)
    assert isinstance(error, ConnectionError)
    assert url in str(error)
    assert "svc-down" in str(error)
    assert "within 0.5 s" in str(error)
    assert seen[0] is R
    assert conn.status.current is D


async def test_broker_restart_reconnects_and_restores_subscriptions(
    private_broker: MosquittoBroker, connection_factory: Factory, mqtt_version: int
) -> None:
    inbox = Inbox()
    sub = connection_factory(private_broker.url, on_message=inbox, protocol_version=mqtt_version)
    pub = connection_factory(private_broker.url, protocol_version=mqtt_version)
    await asyncio.gather(sub.connect(), pub.connect())
    await sub.subscribe("restart/#", qos=1)
    lost: list[MqttConnectionLostError] = []
    reconnected: list[bool] = []
    sub.on_connection_lost.append(lost.append)
    sub.on_reconnected.append(lambda: reconnected.append(True))
    seen = await record(sub.status)

    private_broker.stop()
    await asyncio.wait_for(sub.status.wait_for(R), 5)
    private_broker.start()
    await asyncio.wait_for(sub.status.wait_for(C), 5)
    await asyncio.wait_for(pub.status.wait_for(C), 5)

    assert seen[:4] == [C, D, R, C]
    assert len(lost) == 1
    assert private_broker.url in str(lost[0])
    assert reconnected == [True]
    await pub.publish_and_wait("restart/x", b"after", qos=1)
    assert (await inbox.get()).payload == b"after"


async def test_subscription_refused(
    broker_factory: Callable[..., MosquittoBroker],
    connection_factory: Factory,
    mqtt_version: int,
) -> None:
    """Mosquitto refuses subscriptions through its dynamic security plugin (an acl_file only
    filters deliveries)."""
    plugin = _dynsec_plugin()
    broker = broker_factory(
        allow_anonymous=False,
        extra_config=[f"plugin {plugin}", "plugin_opt_config_file {dir}/dynsec.json"],
    )
    _write_dynsec(broker.directory / "dynsec.json", "alice", "secret", deny="forbidden/#")
    broker.start()
    conn = connection_factory(
        broker.url, protocol_version=mqtt_version, username="alice", password="secret"
    )
    await conn.connect()
    assert await conn.subscribe("allowed/x") == 0
    with pytest.raises(MqttSubscribeError) as info:
        await conn.subscribe("forbidden/x", qos=1)
    error = info.value
    assert error.topic == "forbidden/x"
    assert "refused the subscription to 'forbidden/x'" in str(error)
    assert ("0x87" if mqtt_version == 5 else "0x80") in str(error)
    assert broker.url in str(error)
    assert "forbidden/x" not in conn.subscriptions


async def test_bad_credentials_fail_at_once(
    broker_factory: Callable[..., MosquittoBroker],
    connection_factory: Factory,
    mqtt_version: int,
) -> None:
    broker = broker_factory(allow_anonymous=False, users={"alice": "secret"}).start()
    good = connection_factory(
        broker.url, protocol_version=mqtt_version, username="alice", password="secret"
    )
    await good.connect()
    bad = connection_factory(
        broker.url, protocol_version=mqtt_version, username="alice", password="wrong"
    )
    started = time.monotonic()
    with pytest.raises(MqttConnectionError, match="refused the connection: Not authorized"):
        await bad.connect()  # no connect_timeout, yet it does not retry
    assert time.monotonic() - started < 1


async def test_duplicate_client_id_is_detected(
    mqtt_broker: MosquittoBroker, connection_factory: Factory, mqtt_version: int
) -> None:
    errors: list[BaseException] = []
    conns = [
        connection_factory(mqtt_broker.url, client_id="twin", protocol_version=mqtt_version)
        for _ in range(2)
    ]
    for conn in conns:
        conn.on("error", errors.append)
    for conn in conns:
        await conn.connect()
    await eventually(lambda: bool(errors), timeout=8)
    error = errors[0]
    assert isinstance(error, MqttClientIdConflictError)
    assert "same client id" in str(error)
    assert "'twin'" in str(error)


# helpers ---------------------------------------------------------------------------------------
def _dynsec_plugin() -> str:
    for directory in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
        path = Path(directory) / "mosquitto_dynamic_security.so"
        if path.exists():
            return str(path)
    pytest.skip("mosquitto_dynamic_security.so not found")


def _write_dynsec(path: Path, username: str, password: str, *, deny: str) -> None:
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    config = {
        "defaultACLAccess": {
            "publishClientSend": True,
            "publishClientReceive": True,
            "subscribe": True,
            "unsubscribe": True,
        },
        "clients": [
            {
                "username": username,
                "password": base64.b64encode(digest).decode(),
                "salt": base64.b64encode(salt).decode(),
                "iterations": 101,
                "roles": [{"rolename": "limited"}],
            }
        ],
        "groups": [],
        "roles": [
            {
                "rolename": "limited",
                "acls": [
                    {"acltype": "subscribePattern", "topic": deny, "priority": 0, "allow": False}
                ],
            }
        ],
    }
    path.write_text(json.dumps(config))


def test_options_are_not_shared_between_connections() -> None:
    """One options object for a server and a client still gives two client ids (#8804)."""
    options = MqttOptions()
    noop: Callable[[Any], None] = lambda _m: None  # noqa: E731
    assert (
        MqttConnection(options, on_message=noop).client_id
        != MqttConnection(options, on_message=noop).client_id
    )


# more behaviour -----------------------------------------------------------------------------
async def test_no_local_subscription_option(
    mqtt_broker: MosquittoBroker, connection_factory: Factory
) -> None:
    inbox = Inbox()
    conn = connection_factory(mqtt_broker.url, on_message=inbox, protocol_version=5)
    await conn.connect()
    await conn.subscribe("nolocal/own", qos=1, no_local=True)
    await conn.subscribe("nolocal/all", qos=1)
    await conn.publish_and_wait("nolocal/own", b"mine", qos=1)
    await conn.publish_and_wait("nolocal/all", b"seen", qos=1)
    assert (await inbox.get()).payload == b"seen"
    assert inbox.queue.empty()


async def test_close_interrupts_connect(connection_factory: Factory) -> None:
    conn = connection_factory(f"mqtt://127.0.0.1:{free_port()}")
    connecting = asyncio.ensure_future(conn.connect())
    await asyncio.sleep(0.1)
    await conn.close()
    with pytest.raises(MqttConnectionLostError, match="closed while connecting"):
        await connecting
    assert conn.status.current is X


async def test_cancelled_connect_stops_retrying(connection_factory: Factory) -> None:
    conn = connection_factory(f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(conn.connect(), 0.2)
    task = conn._connect_task
    assert task is not None
    # The attempt may be inside its worker thread (paho's blocking connect), which the
    # cancellation waits for: give it time to end, but a retry loop would never end.
    await asyncio.wait({task}, timeout=5)
    assert task.done()


async def test_link_down_subscribe_waits_and_qos0_publish_fails(
    private_broker: MosquittoBroker, connection_factory: Factory
) -> None:
    inbox = Inbox()
    conn = connection_factory(private_broker.url, on_message=inbox)
    await conn.connect()
    private_broker.stop()
    await asyncio.wait_for(conn.status.wait_for(R), 5)
    with pytest.raises(MqttPublishError, match="not connected"):
        conn.publish("down/t", b"lost")
    queued = conn.publish("down/t", b"queued", qos=1)  # QoS 1 waits for the reconnect
    subscribing = asyncio.ensure_future(conn.subscribe("down/t", qos=1))
    await asyncio.sleep(0.1)
    assert not subscribing.done()
    private_broker.start()
    assert await asyncio.wait_for(subscribing, 5) == 1
    assert queued is not None
    await asyncio.wait_for(queued, 5)
    conn.publish("down/t", b"after")
    assert (await inbox.get()).payload in (b"queued", b"after")


async def test_tls(
    broker_factory: Callable[..., MosquittoBroker],
    connection_factory: Factory,
    tmp_path: Path,
) -> None:
    ca = _make_certificates(tmp_path)
    tls_port = free_port()
    broker = broker_factory(
        extra_config=[
            f"listener {tls_port} 127.0.0.1",
            f"cafile {tmp_path / 'ca.crt'}",
            f"certfile {tmp_path / 'server.crt'}",
            f"keyfile {tmp_path / 'server.key'}",
        ]
    ).start()
    url = f"mqtts://127.0.0.1:{tls_port}"
    untrusted = connection_factory(url)
    with pytest.raises(MqttConnectionError, match="TLS certificate verification failed"):
        await untrusted.connect()  # fails at once, no retries

    inbox = Inbox()
    conn = connection_factory(url, tls={"ca_certs": ca}, on_message=inbox)
    plain = connection_factory(broker.url)
    await asyncio.gather(conn.connect(), plain.connect())
    await conn.subscribe("tls/#")
    big = os.urandom(300_000)
    for i in range(50):
        plain.publish(f"tls/{i}", b"x" * 20_000)
    plain.publish("tls/big", big)
    sizes = [len((await inbox.get()).payload) for _ in range(51)]
    assert sizes == [20_000] * 50 + [300_000]


def _make_certificates(directory: Path) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
        "-subj", "/CN=nestpy test CA")  # fmt: skip
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext")  # fmt: skip
    return str(directory / "ca.crt")


async def test_malformed_broker_reply_is_a_connection_error(connection_factory: Factory) -> None:
    """Something that is not an MQTT broker answers CONNECT with garbage."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"\x20\x09not-mqtt-at-all")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        url = f"mqtt://127.0.0.1:{port}"
        conn = connection_factory(url, connect_timeout=0.3, client_id="svc-garbage")
        with pytest.raises(MqttConnectionError) as info:
            await conn.connect()
    assert isinstance(info.value, NestpyError)
    assert url in str(info.value)
    assert "svc-garbage" in str(info.value)


def test_mosquitto_broker_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = MosquittoBroker(persistence=True)
    assert not broker.is_running
    with broker:
        port = broker.port
        assert broker.is_running
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        assert f"listener {port} 127.0.0.1" in broker.config_path.read_text()
        broker.kill()
        assert not broker.is_running
        broker.restart()
        assert broker.is_running
        assert broker.port == port
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    assert not broker.is_running

    from nestpy_mqtt.testing import broker as broker_module

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(broker_module, "_SEARCH_DIRS", ())
    with pytest.raises(MosquittoNotFoundError, match="apt-get install mosquitto"):
        MosquittoBroker()
