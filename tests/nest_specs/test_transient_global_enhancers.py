"""Port of nestjs/nest ``integration/scopes/e2e/transient-global-enhancers.spec.ts``.

The ``microservice`` cases run on the in-memory transport; the ``http`` cases that are not
about HTTP responses (one guard instance per controller) run on a microservice too.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, ClassVar

import pytest

from nestpy import (
    APP_FILTER,
    APP_GUARD,
    APP_INTERCEPTOR,
    APP_PIPE,
    Catch,
    Controller,
    Injectable,
    Module,
    Provider,
    Scope,
    UseGuards,
)
from nestpy.microservices import (
    ArgumentMetadata,
    CallHandler,
    ExecutionContext,
    MessagePattern,
    Payload,
    RpcException,
    create_param_decorator,
)
from tests.nest_specs.support import serve

SPEC = "integration/scopes/e2e/transient-global-enhancers.spec.ts"


@Injectable()
class Gate:
    def is_open(self) -> bool:
        return False


@Injectable(scope=Scope.TRANSIENT)
class TransientDenyGuard:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def can_activate(self, context: ExecutionContext) -> bool:
        return self.gate.is_open()


@Injectable(scope=Scope.TRANSIENT)
class TrackingGuard:
    ids = itertools.count(1)
    instances_by_controller: ClassVar[dict[str, set[int]]] = {}

    def __init__(self) -> None:
        self.instance_id = next(TrackingGuard.ids)

    @classmethod
    def reset(cls) -> None:
        cls.ids = itertools.count(1)
        cls.instances_by_controller = {}

    def can_activate(self, context: ExecutionContext) -> bool:
        name = context.get_class().__name__
        TrackingGuard.instances_by_controller.setdefault(name, set()).add(self.instance_id)
        return True


@Injectable(scope=Scope.TRANSIENT)
class TrackingDenyGuard(TrackingGuard):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    def can_activate(self, context: ExecutionContext) -> bool:
        return super().can_activate(context) and self.gate.is_open()


@Injectable(scope=Scope.TRANSIENT)
class SuffixPipe:
    def transform(self, value: str, metadata: ArgumentMetadata) -> str:
        return f"{value}-piped"


@Injectable(scope=Scope.TRANSIENT)
class PrefixInterceptor:
    async def intercept(self, context: ExecutionContext, call_next: CallHandler) -> Any:
        return f"intercepted:{await call_next.handle()}"


@Catch()
@Injectable(scope=Scope.TRANSIENT)
class RecoveringRpcFilter:
    def catch(self, exception: Exception, host: ExecutionContext) -> Any:
        return "recovered"


Greeting = create_param_decorator(lambda data, ctx: "hello")


@Controller()
class MessageController:
    @MessagePattern("read")
    def read(self) -> str:
        return "ok"

    @MessagePattern("echo")
    def echo(self, name: Annotated[str, Payload()]) -> str:
        return name

    @MessagePattern("greeting")
    def greet(self, greeting: Annotated[str, Greeting()]) -> str:
        return greeting

    @MessagePattern("fail")
    def fail(self) -> None:
        raise RuntimeError("boom")


@Controller()
class FirstController:
    @MessagePattern("first")
    def read(self) -> str:
        return "ok"


@Controller()
class SecondController:
    @MessagePattern("second")
    def read(self) -> str:
        return "ok"


@Controller()
class GuardedFirstController:
    @MessagePattern("guarded-first")
    @UseGuards(TrackingDenyGuard)
    def read(self) -> str:
        return "ok"


@Controller()
class GuardedSecondController:
    @MessagePattern("guarded-second")
    @UseGuards(TrackingDenyGuard)
    def read(self) -> str:
        return "ok"


def create_module(providers: list[Any], controllers: list[Any] | None = None) -> type:
    @Module(controllers=controllers or [MessageController], providers=[Gate, *providers])
    class TestModule: ...

    return TestModule


FORBIDDEN = {"status": "error", "message": "Forbidden resource"}


async def test_should_deny_the_message_when_the_global_guard_is_transient() -> None:
    """microservice: it('should deny the message when the global guard is transient')"""
    async with serve(create_module([Provider(APP_GUARD, use_class=TransientDenyGuard)])) as s:
        with pytest.raises(RpcException) as info:
            await s.send("read")
        assert info.value.get_error() == FORBIDDEN


async def test_should_transform_the_payload_when_the_global_pipe_is_transient() -> None:
    """microservice: it('should transform the payload when the global pipe is transient')"""
    async with serve(create_module([Provider(APP_PIPE, use_class=SuffixPipe)])) as s:
        assert await s.send("echo", "nest") == "nest-piped"


async def test_should_transform_the_parameter_when_the_global_pipe_is_transient() -> None:
    """http: it('should transform the parameter when the global pipe is transient'), with the
    custom ``Greeting`` parameter decorator of the spec."""
    async with serve(create_module([Provider(APP_PIPE, use_class=SuffixPipe)])) as s:
        assert await s.send("greeting") == "hello-piped"


async def test_should_wrap_the_response_when_the_global_interceptor_is_transient() -> None:
    """microservice: it('should wrap the response when the global interceptor is transient')"""
    module = create_module([Provider(APP_INTERCEPTOR, use_class=PrefixInterceptor)])
    async with serve(module) as s:
        assert await s.send("read") == "intercepted:ok"


async def test_should_handle_the_error_when_the_global_filter_is_transient() -> None:
    """microservice: it('should handle the error when the global filter is transient')"""
    async with serve(create_module([Provider(APP_FILTER, use_class=RecoveringRpcFilter)])) as s:
        assert await s.send("fail") == "recovered"


async def test_should_deny_the_request_when_the_global_guard_is_a_default_provider() -> None:
    """http: it('should deny the request when the global guard is a default provider')"""

    @Injectable()
    class DefaultDenyGuard:
        def can_activate(self, context: ExecutionContext) -> bool:
            return False

    async with serve(create_module([Provider(APP_GUARD, use_class=DefaultDenyGuard)])) as s:
        with pytest.raises(RpcException):
            await s.send("read")


async def test_should_deny_the_request_when_the_global_guard_is_request_scoped() -> None:
    """http: it('should deny the request when the global guard is request scoped')"""

    @Injectable(scope=Scope.REQUEST)
    class RequestScopedDenyGuard:
        def can_activate(self, context: ExecutionContext) -> bool:
            return False

    module = create_module([Provider(APP_GUARD, use_class=RequestScopedDenyGuard)])
    async with serve(module) as s:
        with pytest.raises(RpcException):
            await s.send("read")


async def test_should_give_each_controller_its_own_instance_and_keep_it_across_requests() -> None:
    """guard: it('should give each controller its own instance and keep it across requests')"""
    TrackingGuard.reset()
    module = create_module(
        [Provider(APP_GUARD, use_class=TrackingGuard)], [FirstController, SecondController]
    )
    async with serve(module) as s:
        for pattern in ("first", "first", "second", "second"):
            assert await s.send(pattern) == "ok"
    found = TrackingGuard.instances_by_controller
    assert len(found["FirstController"]) == 1
    assert len(found["SecondController"]) == 1
    assert len(found["FirstController"] | found["SecondController"]) == 2


async def test_give_each_controller_its_own_constructed_instance_of_a_trans() -> None:
    """method level guard: it('should give each controller its own constructed instance of a
    transient guard')"""
    TrackingGuard.reset()
    module = create_module([], [GuardedFirstController, GuardedSecondController])
    async with serve(module) as s:
        for pattern in ("guarded-first", "guarded-first", "guarded-second", "guarded-second"):
            with pytest.raises(RpcException):
                await s.send(pattern)
    found = TrackingGuard.instances_by_controller
    assert len(found["GuardedFirstController"]) == 1
    assert len(found["GuardedSecondController"]) == 1
    assert len(found["GuardedFirstController"] | found["GuardedSecondController"]) == 2
