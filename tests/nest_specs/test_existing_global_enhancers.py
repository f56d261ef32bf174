"""Port of nestjs/nest ``integration/scopes/e2e/existing-global-enhancers.spec.ts``.

Global enhancers registered with ``use_existing`` or ``use_factory``, served as a microservice
on the in-memory transport (the spec's ``http`` cases check the same enhancers over HTTP).
The three "should fail at startup" cases are a difference: see ``docs/differences.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from nestpy import (
    APP_FILTER,
    APP_GUARD,
    APP_INTERCEPTOR,
    APP_PIPE,
    REQUEST,
    Catch,
    Controller,
    Inject,
    Injectable,
    Module,
    Provider,
    Scope,
)
from nestpy.microservices import (
    ArgumentMetadata,
    CallHandler,
    ExecutionContext,
    MessagePattern,
    RpcException,
    create_param_decorator,
)
from tests.nest_specs.support import serve

SPEC = "integration/scopes/e2e/existing-global-enhancers.spec.ts"
FORBIDDEN = {"status": "error", "message": "Forbidden resource"}


@Injectable(scope=Scope.REQUEST)
class RequestScopedDenyGuard:
    def can_activate(self, context: ExecutionContext) -> bool:
        return False


@Injectable(scope=Scope.TRANSIENT)
class TransientDenyGuard:
    def can_activate(self, context: ExecutionContext) -> bool:
        return False


@Injectable()
class DefaultDenyGuard:
    def can_activate(self, context: ExecutionContext) -> bool:
        return False


@Injectable(scope=Scope.REQUEST)
class CurrentRequest:
    def __init__(self, request: Annotated[Any, Inject(REQUEST)]) -> None:
        self.request = request


@Injectable()
class ImplicitlyScopedDenyGuard:
    """Request-scoped only through its dependency."""

    def __init__(self, current: CurrentRequest) -> None:
        self.current = current

    def can_activate(self, context: ExecutionContext) -> bool:
        return not self.current.request


@Injectable(scope=Scope.REQUEST)
class SuffixPipe:
    def transform(self, value: str, metadata: ArgumentMetadata) -> str:
        return f"{value}-piped"


@Injectable(scope=Scope.REQUEST)
class PrefixInterceptor:
    async def intercept(self, context: ExecutionContext, call_next: CallHandler) -> Any:
        return f"intercepted:{await call_next()}"


@Catch()
@Injectable(scope=Scope.REQUEST)
class HandledFilter:
    def catch(self, exception: Exception, host: ExecutionContext) -> str:
        return "handled"


Greeting = create_param_decorator(lambda data, ctx: "hello")


@Controller()
class MessageController:
    @MessagePattern("read")
    def read(self) -> str:
        return "ok"

    @MessagePattern("greeting")
    def greet(self, greeting: Annotated[str, Greeting()]) -> str:
        return greeting

    @MessagePattern("fail")
    def fail(self) -> None:
        raise RuntimeError("boom")


def create_module(providers: list[Any]) -> type:
    @Module(controllers=[MessageController], providers=[CurrentRequest, *providers])
    class TestModule: ...

    return TestModule


async def _denied(module: type) -> None:
    async with serve(module) as s:
        with pytest.raises(RpcException) as info:
            await s.send("read")
        assert info.value.get_error() == FORBIDDEN


async def test_msvc_deny_when_global_guard_aliases_a_request_scoped_guard() -> None:
    """microservice: it('should deny the message when the global guard is an alias of a
    request-scoped guard')"""
    await _denied(
        create_module(
            [RequestScopedDenyGuard, Provider(APP_GUARD, use_existing=RequestScopedDenyGuard)]
        )
    )


async def test_deny_when_global_guard_aliases_a_transient_guard() -> None:
    """http: it('should deny the request when the global guard is an alias of a transient
    guard')"""
    await _denied(
        create_module([TransientDenyGuard, Provider(APP_GUARD, use_existing=TransientDenyGuard)])
    )


async def test_deny_when_global_guard_aliases_a_default_provider() -> None:
    """http: it('should deny the request when the global guard is an alias of a default
    provider')"""
    await _denied(
        create_module([DefaultDenyGuard, Provider(APP_GUARD, use_existing=DefaultDenyGuard)])
    )


async def test_deny_when_a_request_scoped_factory_returns_the_global_guard() -> None:
    """http: it('should deny the request when a request-scoped factory returns the global
    guard')"""
    factory = Provider(
        APP_GUARD,
        use_factory=ImplicitlyScopedDenyGuard,
        inject=[CurrentRequest],
        scope=Scope.REQUEST,
    )
    await _denied(create_module([factory]))


async def test_transform_when_global_pipe_aliases_a_request_scoped_pipe() -> None:
    """http: it('should transform the parameter when the global pipe is an alias of a
    request-scoped pipe')"""
    module = create_module([SuffixPipe, Provider(APP_PIPE, use_existing=SuffixPipe)])
    async with serve(module) as s:
        assert await s.send("greeting") == "hello-piped"


async def test_wrap_when_global_interceptor_aliases_a_request_scoped_one() -> None:
    """http: it('should wrap the response when the global interceptor is an alias of a
    request-scoped interceptor')"""
    module = create_module(
        [PrefixInterceptor, Provider(APP_INTERCEPTOR, use_existing=PrefixInterceptor)]
    )
    async with serve(module) as s:
        assert await s.send("read") == "intercepted:ok"


async def test_handle_when_global_filter_aliases_a_request_scoped_filter() -> None:
    """http: it('should handle the error when the global filter is an alias of a
    request-scoped filter')"""
    module = create_module([HandledFilter, Provider(APP_FILTER, use_existing=HandledFilter)])
    async with serve(module) as s:
        assert await s.send("fail") == "handled"


async def test_should_still_skip_a_global_guard_factory_that_returns_nothing() -> None:
    """http: it('should still skip a global guard factory that returns nothing')"""
    module = create_module([Provider(APP_GUARD, use_factory=lambda: None)])
    async with serve(module) as s:
        assert await s.send("read") == "ok"
