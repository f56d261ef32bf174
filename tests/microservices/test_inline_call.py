"""``handler_params.inline_call`` calls a handler exactly as ``fill_arguments`` fills it."""

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter

from nestpy.microservices import Ctx, Payload, RpcException
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.handler_params import (
    VALIDATION_FAILED,
    _checker,
    build_argument_plan,
    fill_arguments,
    inline_call,
)


class Point(BaseModel):
    x: int


def whole_typed(data: list[int]) -> Any:
    return ("whole_typed", data)


def whole_any(data: Any) -> Any:
    return ("whole_any", data)


def untyped(data, ctx):  # type: ignore[no-untyped-def]
    return ("untyped", data, ctx)


def typed_with_context(data: dict[str, Any], ctx: BaseRpcContext) -> Any:
    return ("typed_with_context", data, ctx)


def model(point: Point) -> Any:
    return ("model", point)


def keyed(x: Annotated[int, Payload("x")], ctx: Annotated[Any, Ctx()]) -> Any:
    return ("keyed", x, ctx)


def context_first(ctx: BaseRpcContext, data: int) -> Any:
    return ("context_first", ctx, data)


def nothing() -> Any:
    return ("nothing",)


def raises(data: int) -> Any:
    TypeAdapter(int).validate_python("not a number")  # the handler's own ValidationError


HANDLERS = [whole_typed, whole_any, untyped, typed_with_context, model, keyed, context_first]
HANDLERS += [nothing, raises]
DATA = [[1, "2"], {"x": "3"}, {"x": 1, "y": [1]}, "text", None, 5, {"a": 1}, [True]]


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "value", call()
    except Exception as exc:
        return type(exc).__name__, getattr(exc, "error", str(exc))


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
@pytest.mark.parametrize("data", DATA, ids=range(len(DATA)))
def test_inline_calls_fill_arguments_as_before(handler: Any, data: Any) -> None:
    plan = build_argument_plan(handler)
    context = BaseRpcContext("topic")
    expected = _outcome(lambda: handler(*fill_arguments(plan, data, context)))
    assert _outcome(lambda: inline_call(handler, plan)(data, context)) == expected
    bound = MessageHandler("r", handler, is_event=False)
    assert _outcome(lambda: bound.call_inline(data, context)) == expected


def test_a_validation_failure_is_the_rpc_error_with_its_cause() -> None:
    handler = MessageHandler("r", whole_typed, is_event=False)
    with pytest.raises(RpcException) as caught:
        handler.call_inline(["x"], BaseRpcContext())
    assert caught.value.error["message"] == VALIDATION_FAILED
    assert caught.value.error["errors"][0]["loc"] == [0]
    assert caught.value.__cause__ is not None


def test_the_checker_is_the_adapters_validation() -> None:
    class Later(BaseModel):
        model_config = ConfigDict(defer_build=True)
        x: int

    for annotation in (list[int], Point, Later, dict[str, Any], "int"):
        adapter = TypeAdapter(annotation)
        check = _checker(adapter)
        for value in ([1, "2"], {"x": "1"}, "3", 4):
            assert _outcome(lambda: check(value)) == _outcome(  # noqa: B023
                lambda: adapter.validate_python(value)  # noqa: B023
            )
