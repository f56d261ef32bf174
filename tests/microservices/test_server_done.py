"""``Server.handle_packet(..., done=)``: called exactly once per message whatever the outcome
(the hook MQTT acknowledgements hang on), never for a message still waiting in the backlog;
and an unhandled handler exception is logged with its pattern and request id."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from nestpy.microservices import RpcException
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.server import Outcome, Server


class BareServer(Server):
    async def listen(self) -> None:
        pass

    async def close(self) -> None:
        pass


def request(pattern: str, data: Any, rid: str) -> bytes:
    return json.dumps({"pattern": pattern, "data": data, "id": rid}).encode()


def event(pattern: str, data: Any) -> bytes:
    return json.dumps({"pattern": pattern, "data": data}).encode()


class Done:
    def __init__(self) -> None:
        self.calls: dict[str, list[Outcome]] = {}

    def __call__(self, name: str) -> Any:
        return lambda outcome: self.calls.setdefault(name, []).append(outcome)


async def until(check: Any) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("condition not met in time")


async def test_done_is_called_once_per_outcome() -> None:
    gate = asyncio.Event()

    async def held(data: Any) -> Any:
        await gate.wait()
        return data

    async def boom(data: Any) -> Any:
        raise ValueError("boom")

    async def slow(data: Any) -> Any:
        await asyncio.sleep(10)

    server = BareServer(max_concurrency=2, max_backlog=1)
    server.add_handler(MessageHandler("held", held, is_event=False))
    server.add_handler(MessageHandler("boom", boom, is_event=False))
    server.add_handler(MessageHandler("slow", slow, is_event=False, timeout=0.05))
    server.add_handler(MessageHandler("inline", lambda d: d, is_event=False))
    server.add_handler(MessageHandler("ev", held, is_event=True))
    server.add_handler(MessageHandler("ev", held, is_event=True))
    replies: list[bytes] = []
    done = Done()
    ctx = BaseRpcContext()

    def send(name: str, payload: bytes, channel: str | None = None) -> None:
        server.handle_packet(channel or name, payload, ctx, replies.append, done(name))

    send("inline", request("inline", 1, "i"))
    send("unknown", request("unknown", 1, "u"), "nowhere")
    send("bad", b'{"pattern":"held","data":"\xff","id":"b"}', "held")
    handled, skipped = Outcome.HANDLED, Outcome.SKIPPED
    assert done.calls == {"inline": [handled], "unknown": [skipped], "bad": [skipped]}
    send("slow", request("slow", 1, "s"))  # times out
    send("held", request("held", 1, "h"))  # second slot
    send("waiting", request("held", 2, "w"), "held")  # backlog
    send("shed", request("held", 3, "x"), "held")  # over max_backlog
    assert done.calls["shed"] == [skipped]
    assert b"Service overloaded" in replies[-1]
    await until(lambda: "slow" in done.calls and server.backlog_size == 0)
    assert "waiting" not in done.calls  # started once "slow" freed a slot, still running
    send("boom", request("boom", 1, "o"))  # backlog again
    gate.set()
    await until(lambda: {"held", "waiting", "boom"} <= done.calls.keys())
    send("ev", event("ev", 1))  # two handlers, one done
    await until(lambda: "ev" in done.calls)
    await asyncio.sleep(0.01)
    for name in ("slow", "held", "waiting", "boom", "ev"):
        assert done.calls[name] == [handled], name


async def test_messages_never_run_get_done_false_at_shutdown() -> None:
    gate = asyncio.Event()

    async def held(data: Any) -> Any:
        await gate.wait()

    server = BareServer(max_concurrency=1)
    server.add_handler(MessageHandler("held", held, is_event=False))
    done = Done()
    for name in ("running", "queued"):
        server.handle_packet("held", request("held", 1, name), BaseRpcContext(), len, done(name))
    await asyncio.sleep(0.01)
    server.stop_accepting()
    server.handle_packet("held", request("held", 1, "late"), BaseRpcContext(), len, done("late"))
    assert await server.drain(0.05) == 1
    not_taken = [Outcome.NOT_TAKEN]
    assert done.calls == {"queued": not_taken, "late": not_taken, "running": not_taken}


async def test_unhandled_exception_is_logged_with_pattern_and_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails(data: Any) -> Any:
        raise KeyError("missing")

    def refuses(data: Any) -> Any:
        raise RpcException("expected")

    server = BareServer()
    server.add_handler(MessageHandler("orders/get", fails, is_event=False))
    server.add_handler(MessageHandler("orders/put", refuses, is_event=False))
    replies: list[bytes] = []
    with caplog.at_level(logging.ERROR):
        server.handle_packet(
            "orders/get", request("orders/get", 1, "r-42"), BaseRpcContext(), replies.append
        )
        server.handle_packet(
            "orders/put", request("orders/put", 1, "r-43"), BaseRpcContext(), replies.append
        )
        await until(lambda: len(replies) == 2)
    [record] = [r for r in caplog.records if r.name == "nestpy.RpcExceptionsHandler"]
    assert "'orders/get'" in record.getMessage()
    assert "'r-42'" in record.getMessage()
    assert record.exc_info is not None
    assert b"Internal server error" in replies[0] or b"Internal server error" in replies[1]
