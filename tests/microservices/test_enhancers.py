import asyncio
import json
from typing import Any

from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.enhancers import (
    Catch,
    ExecutionContext,
    Pipeline,
    UseFilters,
    UseGuards,
    UseInterceptors,
)
from nestpy.microservices.exceptions import RpcException
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.server import Server

calls: list[str] = []


class RecordingServer(Server):
    async def listen(self) -> None:
        pass

    async def close(self) -> None:
        pass


class TokenGuard:
    def can_activate(self, context: ExecutionContext) -> bool:
        calls.append(f"guard:{context.get_class().__name__}.{context.get_handler().__name__}")
        return context.switch_to_rpc().get_data().get("token") == "secret"


class Doubling:
    async def intercept(self, context: ExecutionContext, call_next) -> Any:
        calls.append("before")
        result = await call_next()
        calls.append("after")
        return result * 2


@Catch(ValueError)
class ValueErrorToRpc:
    def catch(self, exception: ValueError, host: ExecutionContext) -> Any:
        raise RpcException({"code": "bad_value", "message": str(exception)})


@Catch(KeyError)
class KeyErrorToValue:
    async def catch(self, exception: KeyError, host: ExecutionContext) -> Any:
        return "recovered"


@UseGuards(TokenGuard)
@UseFilters(ValueErrorToRpc)
class Orders:
    @UseInterceptors(Doubling)
    def total(self, data: dict) -> int:
        return int(data["n"])

    @UseFilters(KeyErrorToValue)
    def lookup(self, data: dict) -> Any:
        if "n" not in data:
            raise KeyError("n")
        raise ValueError("negative")


async def call(server: Server, topic: str, data: object) -> dict:
    replies: list[bytes] = []
    payload = json.dumps({"pattern": topic, "data": data, "id": "1"}).encode()
    server.handle_packet(topic, payload, BaseRpcContext(topic), replies.append)
    for _ in range(50):
        if replies:
            break
        await asyncio.sleep(0.001)
    return json.loads(replies[0])


def make_server() -> RecordingServer:
    server = RecordingServer()
    orders = Orders()
    for name in ("total", "lookup"):
        function = getattr(Orders, name)
        server.add_handler(
            MessageHandler(
                name, getattr(orders, name), is_event=False, pipeline=Pipeline(Orders, function)
            )
        )
    return server


async def test_guard_denies_with_nest_forbidden_error():
    reply = await call(make_server(), "total", {"n": 2})
    assert reply["err"] == {"status": "error", "message": "Forbidden resource"}
    assert calls[-1] == "guard:Orders.total"


async def test_interceptor_runs_around_the_handler():
    calls.clear()
    reply = await call(make_server(), "total", {"n": 2, "token": "secret"})
    assert reply["response"] == 4
    assert calls == ["guard:Orders.total", "before", "after"]


async def test_filters_method_first_then_controller():
    server = make_server()
    assert (await call(server, "lookup", {"token": "secret"}))["response"] == "recovered"
    reply = await call(server, "lookup", {"token": "secret", "n": -1})
    assert reply["err"] == {"code": "bad_value", "message": "negative"}
