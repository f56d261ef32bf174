"""MQTT over WebSocket (``ws://``, ``wss://``) end to end on a private Mosquitto: a nestpy
service and a ``ClientMqtt`` both on the WebSocket listener, on the fast path and on paho's
own (``fast_path=False``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from transport_support import FAST, Harness, eventually

from nestpy import Controller
from nestpy.microservices import EventPattern, MessagePattern
from nestpy_mqtt import MqttContext, MqttOptions, MqttRecordBuilder
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError, free_port, tls

pytestmark = pytest.mark.mqtt


@Controller()
class WsController:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @MessagePattern("ws/sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)

    @MessagePattern("ws/echo")
    def echo(self, data: Any) -> Any:
        return data

    @MessagePattern("ws/count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @MessagePattern("ws/props")
    def props(self, data: Any, ctx: MqttContext) -> dict[str, str]:
        return ctx.get_packet().properties.user_properties

    @EventPattern("ws/event")
    def event(self, data: Any) -> None:
        self.events.append(data)


class WsHarness(Harness):
    """A ``Harness`` whose services and clients all run with one ``fast_path`` setting."""

    def __init__(self, url: str, protocol_version: int, fast_path: bool, **options: Any) -> None:
        super().__init__(url, protocol_version)
        self.defaults = {"fast_path": fast_path, **options}

    def options(self, **overrides: Any) -> MqttOptions:
        return super().options(**{**self.defaults, **overrides})


def _ws_broker() -> MosquittoBroker:
    try:
        return MosquittoBroker(websockets=True)
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def ws_broker() -> Iterator[MosquittoBroker]:
    """One broker with a WebSocket listener for this module; tests use their own topics."""
    with _ws_broker() as broker:
        yield broker


@pytest.fixture(params=[True, False], ids=["fast-path", "paho-path"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
async def peers(ws_broker: MosquittoBroker, mqtt_version: int, fast_path: bool) -> Any:
    harness = WsHarness(ws_broker.ws_url, mqtt_version, fast_path)
    try:
        yield harness
    finally:
        await harness.close()


@pytest.fixture
async def connections(fast_path: bool) -> AsyncIterator[Callable[..., MqttConnection]]:
    made: list[MqttConnection] = []

    def make(url: str, on_message: Callable[[Any], None] | None = None, **options: Any) -> Any:
        values = {"url": url, "fast_path": fast_path, **FAST, **options}
        conn = MqttConnection(MqttOptions(**values), on_message=on_message or (lambda _m: None))
        made.append(conn)
        return conn

    yield make
    for conn in made:
        await conn.close()


def assert_socket(conn: MqttConnection, fast_path: bool) -> None:
    """The fast path runs WebSockets behind the buffered socket; else on paho's own wrapper."""
    from nestpy_mqtt._buffered_socket import BufferedSocket
    from nestpy_mqtt._ws_socket import WsSocket

    sock: Any = conn.unwrap().socket()
    if fast_path:
        assert isinstance(sock, BufferedSocket)
        assert isinstance(sock.sock, WsSocket)
    else:
        assert type(sock).__name__ == "_WebsocketWrapper"


async def test_request_reply_many_in_flight_and_a_streamed_reply(peers: WsHarness) -> None:
    await peers.service(WsController)
    client = peers.client()
    assert await client.send("ws/sum", [1, 2, 3], timeout=5) == 6
    results = await asyncio.gather(*(client.send("ws/sum", [i, i], timeout=10) for i in range(64)))
    assert results == [2 * i for i in range(64)]
    assert [v async for v in client.send("ws/count", 5, timeout=5)] == [0, 1, 2, 3, 4]


async def test_events_arrive_in_order(peers: WsHarness) -> None:
    app = await peers.service(WsController)
    controller = app.get(WsController)
    client = peers.client()
    await client.connect()
    for i in range(200):
        await client.emit("ws/event", i)
    await eventually(lambda: len(controller.events) >= 200)
    assert controller.events == list(range(200))


async def test_large_requests_and_replies(peers: WsHarness) -> None:
    # More than one 64 KiB read. Mosquitto 2.0's WebSocket listener sends large packets to its
    # clients at about 40 KB/s (4 KiB per turn of its main loop when idle): keep them modest.
    await peers.service(WsController)
    client = peers.client()
    text = "".join(chr(0x41 + i % 26) for i in range(70_000))
    assert await client.send("ws/echo", text, timeout=15) == text
    small = await asyncio.gather(*(client.send("ws/echo", i, timeout=10) for i in range(50)))
    assert small == list(range(50))


async def test_mqtt5_user_properties_both_ways(ws_broker: MosquittoBroker, fast_path: bool) -> None:
    peers = WsHarness(ws_broker.ws_url, 5, fast_path)
    try:
        await peers.service(WsController)
        client = peers.client(user_properties={"tenant": "acme"})
        record = MqttRecordBuilder("x").set_properties(user_properties={"v": "1"}).build()
        assert await client.send("ws/props", record, timeout=5) == {"tenant": "acme", "v": "1"}
    finally:
        await peers.close()


async def test_many_messages_and_large_ones_arrive_whole_and_in_order(
    ws_broker: MosquittoBroker,
    connections: Callable[..., MqttConnection],
    mqtt_version: int,
    fast_path: bool,
) -> None:
    from nestpy_mqtt.message import ReceivedMessage

    got: list[bytes] = []
    kinds: set[type] = set()

    def on_message(message: Any) -> None:
        got.append(message.payload)
        kinds.add(type(message))

    url = ws_broker.ws_url
    sub = connections(url, on_message, protocol_version=mqtt_version)
    pub = connections(url, protocol_version=mqtt_version)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("ws/order", qos=0)
    big = bytes(range(256)) * 300  # 75 KiB: more than one read (Mosquitto sends it slowly)
    sent = [big, *(f"m{i}".encode() for i in range(3000)), big[::-1], b""]
    for payload in sent:
        pub.publish("ws/order", payload)
    await eventually(lambda: len(got) >= len(sent), 20)
    assert got == sent
    assert (ReceivedMessage in kinds) is fast_path  # QoS 0 PUBLISH parsed by nestpy (most)
    for conn in (sub, pub):
        assert_socket(conn, fast_path)


async def test_service_and_client_reconnect_after_a_broker_restart(fast_path: bool) -> None:
    broker = _ws_broker()
    peers = WsHarness(broker.start().ws_url, 4, fast_path)
    try:
        await peers.service(WsController)
        client = peers.client()
        assert await client.send("ws/sum", [1, 1], timeout=5) == 2
        broker.restart()
        result = None
        for _ in range(100):  # until both have reconnected and resubscribed
            with contextlib.suppress(Exception):
                result = await client.send("ws/sum", [2, 2], timeout=0.5)
                break
        assert result == 4
    finally:
        await peers.close()
        broker.close()


class RecordingProxy:
    """A TCP proxy in front of the broker's WebSocket listener that keeps what each client
    sent first (the HTTP upgrade request)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers.append(up_writer)
        up_writer.write(head)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
            self.tasks.append(asyncio.ensure_future(task))

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in self.writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_ws_path_and_headers_reach_the_broker(
    ws_broker: MosquittoBroker, fast_path: bool
) -> None:
    assert ws_broker.ws_port is not None
    proxy = RecordingProxy(ws_broker.ws_port)
    address = await proxy.start()
    peers = WsHarness(
        f"ws://{address}/ignored",
        4,
        fast_path,
        ws_path="/mqtt-custom",
        ws_headers={"Authorization": "Bearer tok-123", "X-Tenant": "acme"},
    )
    try:
        await peers.service(WsController)
        assert await peers.client().send("ws/sum", [4, 5], timeout=5) == 9
    finally:
        await peers.close()
        await proxy.close()
    assert len(proxy.requests) == 2  # the service and the client
    for request in proxy.requests:
        assert request.startswith(b"GET /mqtt-custom HTTP/1.1\r\n")
        assert b"Authorization: Bearer tok-123\r\n" in request
        assert b"X-Tenant: acme\r\n" in request


@pytest.fixture(scope="module")
def wss_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    try:
        certs = tls.make_certificates(Path(tmp_path_factory.mktemp("wss")))
    except tls.OpenSSLNotFoundError:
        pytest.skip("openssl not found")
    port = free_port()
    try:
        broker = MosquittoBroker(extra_config=tls.tls_listener(port, certs, websockets=True))
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))
    with broker:
        for _ in range(200):  # the TLS WebSocket listener opens with the broker; wait anyway
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.01)
        yield f"wss://127.0.0.1:{port}/mqtt", str(certs / "ca.crt")


async def test_wss_request_reply_and_large_messages(
    wss_url: tuple[str, str], connections: Callable[..., MqttConnection], fast_path: bool
) -> None:
    url, ca = wss_url
    peers = WsHarness(url, 5, fast_path, tls={"ca_certs": ca})
    try:
        await peers.service(WsController)
        client = peers.client()
        assert await client.send("ws/sum", [1, 2], timeout=5) == 3
        text = "x" * 70_000
        assert await client.send("ws/echo", text, timeout=15) == text
    finally:
        await peers.close()
    got: list[bytes] = []
    tls_opts = {"ca_certs": ca}
    sub = connections(url, lambda m: got.append(m.payload), tls=tls_opts)
    pub = connections(url, tls=tls_opts)
    await sub.connect()
    await pub.connect()
    await sub.subscribe("wss/order", qos=0)
    big = bytes(range(256)) * 300
    sent = [big, *(f"m{i}".encode() for i in range(2000)), big[::-1]]
    for payload in sent:
        pub.publish("wss/order", payload)
    await eventually(lambda: len(got) >= len(sent), 20)
    assert got == sent
    for conn in (sub, pub):
        assert_socket(conn, fast_path)
