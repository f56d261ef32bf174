import asyncio
import json
import logging
from typing import Annotated

import pytest
from pydantic import BaseModel

from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.decorators import Ctx, Payload
from nestpy.microservices.exceptions import RpcException
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.server import Server


class RecordingServer(Server):
    async def listen(self) -> None:
        pass

    async def close(self) -> None:
        pass


class Reading(BaseModel):
    value: float


class Controller:
    def __init__(self) -> None:
        self.events: list[object] = []

    def sum(self, data: list[int]) -> int:
        return sum(data)

    async def slow(self, data: int) -> int:
        await asyncio.sleep(0.01)
        return data

    async def count(self, n: int):
        for i in range(n):
            yield i

    def count_sync(self, n: int):
        yield from range(n)

    def nothing(self, data):
        return None

    def fail_str(self, data):
        raise RpcException("bad")

    def fail_obj(self, data):
        raise RpcException({"code": 7})

    async def crash(self, data):
        raise ValueError("x")

    def reading(self, data: Reading) -> float:
        return data.value

    def topic(self, data: Annotated[int, Payload()], ctx: Annotated[BaseRpcContext, Ctx()]):
        return [data, ctx.get_arg_by_index(0)]

    def keyed(self, a: Annotated[int, Payload("a")]) -> int:
        return a

    def created(self, data):
        self.events.append(data)

    async def created_async(self, data):
        self.events.append(("async", data))


@pytest.fixture
def server() -> tuple[RecordingServer, Controller]:
    s = RecordingServer()
    c = Controller()
    for name in [
        "sum",
        "slow",
        "count",
        "count_sync",
        "nothing",
        "fail_str",
        "fail_obj",
        "crash",
        "reading",
        "topic",
        "keyed",
    ]:
        s.add_handler(MessageHandler(name, getattr(c, name), is_event=False))
    s.add_handler(MessageHandler("created", c.created, is_event=True))
    s.add_handler(MessageHandler("created", c.created_async, is_event=True))
    return s, c


async def call(server: Server, topic: str, data: object, rid: str = "1") -> list[dict]:
    replies: list[bytes] = []
    payload = json.dumps({"pattern": topic, "data": data, "id": rid}).encode()
    server.handle_packet(topic, payload, BaseRpcContext(topic), replies.append)
    for _ in range(20):
        await asyncio.sleep(0.002)
        if (replies and json.loads(replies[-1]).get("isDisposed")) or (
            replies and "status" in json.loads(replies[-1])
        ):
            break
    return [json.loads(r) for r in replies]


async def test_sync_handler_replies_inline(server):
    s, _ = server
    replies: list[bytes] = []
    s.handle_packet(
        "sum", b'{"pattern":"sum","data":[1,2,3],"id":"a"}', BaseRpcContext(), replies.append
    )
    assert replies == [b'{"response":6,"isDisposed":true,"id":"a"}']


async def test_async_handler(server):
    assert await call(server[0], "slow", 5) == [{"response": 5, "isDisposed": True, "id": "1"}]


async def test_async_generator_streams_then_disposes(server):
    assert await call(server[0], "count", 2) == [
        {"response": 0, "id": "1"},
        {"response": 1, "id": "1"},
        {"isDisposed": True, "id": "1"},
    ]


async def test_sync_generator_merges_disposed_into_last_value(server):
    assert await call(server[0], "count_sync", 3) == [
        {"response": 0, "id": "1"},
        {"response": 1, "id": "1"},
        {"response": 2, "isDisposed": True, "id": "1"},
    ]
    assert await call(server[0], "count_sync", 0) == [{"isDisposed": True, "id": "1"}]


async def test_none_is_sent_as_null(server):
    assert await call(server[0], "nothing", 1) == [
        {"response": None, "isDisposed": True, "id": "1"}
    ]


async def test_errors_take_nest_shapes(server, caplog):
    s, _ = server
    assert await call(s, "fail_str", 1) == [
        {"err": {"status": "error", "message": "bad"}, "isDisposed": True, "id": "1"}
    ]
    assert await call(s, "fail_obj", 1) == [{"err": {"code": 7}, "isDisposed": True, "id": "1"}]
    with caplog.at_level(logging.ERROR, logger="nestpy.RpcExceptionsHandler"):
        assert await call(s, "crash", 1) == [
            {
                "err": {"status": "error", "message": "Internal server error"},
                "isDisposed": True,
                "id": "1",
            }
        ]
    assert "ValueError" in caplog.text


async def test_unknown_pattern_gets_nest_no_handler_reply(server):
    assert await call(server[0], "nope", 1) == [
        {
            "id": "1",
            "status": "error",
            "err": "There is no matching message handler defined in the remote service.",
        }
    ]


async def test_payload_validation_errors_go_back_to_the_caller(server):
    assert await call(server[0], "reading", {"value": 2}) == [
        {"response": 2.0, "isDisposed": True, "id": "1"}
    ]
    [reply] = await call(server[0], "reading", {"value": "hot"})
    assert reply["err"]["message"] == "Payload validation failed"
    assert reply["err"]["errors"][0]["loc"] == ["value"]


async def test_payload_and_ctx_markers(server):
    assert (await call(server[0], "topic", 4))[0]["response"] == [4, "topic"]
    assert (await call(server[0], "keyed", {"a": 9}))[0]["response"] == 9


async def test_events_run_every_handler_and_never_reply(server):
    s, c = server
    replies: list[bytes] = []
    s.handle_packet(
        "created", b'{"pattern":"created","data":{"id":1}}', BaseRpcContext(), replies.append
    )
    await asyncio.sleep(0.01)
    assert c.events == [{"id": 1}, ("async", {"id": 1})]
    assert replies == []


async def test_a_request_to_an_event_handler_completes_without_value(server):
    assert await call(server[0], "created", 1) == [{"isDisposed": True, "id": "1"}]


async def test_unknown_event_is_logged(server, caplog):
    s, _ = server
    with caplog.at_level(logging.ERROR):
        s.handle_packet("x/y", b"ON", BaseRpcContext(), lambda _: None)
    assert (
        "There is no matching event handler defined in the remote service. Event pattern: x/y"
        in caplog.text
    )


async def test_max_concurrency_queues_instead_of_running_everything(server):
    s = RecordingServer(max_concurrency=2)
    running = 0
    peak = 0

    async def work(data):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        return data

    s.add_handler(MessageHandler("w", work, is_event=False))
    replies: list[bytes] = []
    for i in range(10):
        s.handle_packet(
            "w",
            json.dumps({"pattern": "w", "data": i, "id": str(i)}).encode(),
            BaseRpcContext(),
            replies.append,
        )
    await asyncio.sleep(0.1)
    assert len(replies) == 10
    assert peak == 2
