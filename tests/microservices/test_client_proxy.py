import asyncio
from typing import Any

import pytest

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import (
    ConnectionLostError,
    InvalidMessageError,
    RequestTimeoutError,
    RpcException,
)
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.server import Server


class LoopServer(Server):
    async def listen(self) -> None:
        pass

    async def close(self) -> None:
        pass


class LoopClient(ClientProxy):
    """Hands packets straight to a server on the next loop turn, as a network would."""

    def __init__(self, server: Server, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server
        self.sent: list[tuple[str, bytes]] = []

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        self.fail_pending(ConnectionLostError("closed"))

    def _deliver(self, route: str, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        reply = lambda b: loop.call_soon(self.handle_response, b)  # noqa: E731
        loop.call_soon(self.server.handle_packet, route, payload, BaseRpcContext(route), reply)

    async def _publish_request(self, route: str, payload: bytes, options: Any) -> None:
        self.sent.append((route, payload))
        self._deliver(route, payload)

    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None:
        self.sent.append((route, payload))
        self._deliver(route, payload)


async def count(n: int):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def add(data: list[int]) -> int:
    return sum(data)


def fail(data):
    raise RpcException("bad")


async def hang(data):
    await asyncio.sleep(10)


@pytest.fixture
def client() -> LoopClient:
    server = LoopServer()
    server.add_handler(MessageHandler("sum", add, is_event=False))
    server.add_handler(MessageHandler("count", count, is_event=False))
    server.add_handler(MessageHandler("fail", fail, is_event=False))
    server.add_handler(MessageHandler("hang", hang, is_event=False))
    server.add_handler(MessageHandler('{"cmd":"sum"}', add, is_event=False))
    return LoopClient(server)


async def test_await_gives_the_last_value(client):
    assert await client.send("sum", [1, 2, 3]) == 6
    assert client.pending_requests == 0


async def test_object_patterns_route_to_the_sorted_topic(client):
    assert await client.send({"cmd": "sum"}, [1, 1]) == 2
    route, payload = client.sent[-1]
    assert route == '{"cmd":"sum"}'
    assert payload.startswith(b'{"pattern":{"cmd":"sum"},"data":[1,1],"id":"')


async def test_ids_are_opaque_21_character_strings(client):
    await client.send("sum", [1])
    await client.send("sum", [1])
    ids = [p.split(b'"id":"')[1][:-2] for _, p in client.sent]
    assert len(set(ids)) == 2
    assert all(len(i) == 21 for i in ids)


async def test_async_for_gives_every_value(client):
    assert [v async for v in client.send("count", 3)] == [0, 1, 2]
    assert await client.send("count", 3) == 2


async def test_error_replies_raise_rpc_exception_with_the_error_as_sent(client):
    with pytest.raises(RpcException) as info:
        await client.send("fail", 1)
    assert info.value.get_error() == {"status": "error", "message": "bad"}
    with pytest.raises(RpcException) as info:
        await client.send("unknown", 1)
    assert info.value.get_error() == (
        "There is no matching message handler defined in the remote service."
    )


async def test_timeout_fails_the_request_and_leaves_nothing_pending(client):
    with pytest.raises(RequestTimeoutError, match=r"No reply to 'hang' within 0\.05 s"):
        await client.send("hang", 1, timeout=0.05)
    assert client.pending_requests == 0


async def test_none_pattern_or_data_is_rejected_at_once(client):
    with pytest.raises(
        InvalidMessageError, match=r"The invalid data or message pattern \(undefined/null\)"
    ):
        client.send(None, 1)
    with pytest.raises(InvalidMessageError):
        client.emit("x", None)
    assert client.sent == []


async def test_emit_is_hot_and_has_no_id(client):
    task = client.emit("evt", {"a": 1})
    await asyncio.sleep(0)
    assert client.sent == [("evt", b'{"pattern":"evt","data":{"a":1}}')]
    await task


async def test_fail_pending_releases_waiting_callers(client):
    request = asyncio.ensure_future(client.send("hang", 1))
    await asyncio.sleep(0.01)
    await client.close()
    with pytest.raises(ConnectionLostError):
        await request
    assert client.pending_requests == 0


async def test_replies_with_unknown_ids_or_garbage_are_ignored(client):
    client.handle_response(b'{"response":1,"isDisposed":true,"id":"nobody"}')
    client.handle_response(b"\x00garbage")
    client.handle_response(b'{"response":1,"id":{"x":1}}')
    assert await client.send("sum", [2]) == 2
