"""Port of nestjs/nest ``integration/scopes/e2e/msvc-request-scope.spec.ts``.

The app of ``integration/scopes/src/msvc``: a controller depending on a request-scoped
``UsersService``, a request-scoped guard and interceptor that inject the request-scoped
``REQUEST_ID``, and a static ``META`` provider injected by the module. Three messages are sent.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest

from nestpy import (
    Controller,
    DynamicModule,
    Inject,
    Injectable,
    Module,
    Provider,
    Scope,
    UseGuards,
    UseInterceptors,
)
from nestpy.microservices import CallHandler, ExecutionContext, MessagePattern
from tests.nest_specs.support import serve

SPEC = "integration/scopes/e2e/msvc-request-scope.spec.ts"


class Meta:
    COUNTER = 0

    def __init__(self) -> None:
        Meta.COUNTER += 1


@Injectable(scope=Scope.REQUEST)
class Guard:
    COUNTER = 0
    REQUEST_SCOPED_DATA: ClassVar[list[int]] = []

    def __init__(self, request_id: Annotated[int, Inject("REQUEST_ID")]) -> None:
        Guard.COUNTER += 1
        self.request_id = request_id

    def can_activate(self, context: ExecutionContext) -> bool:
        Guard.REQUEST_SCOPED_DATA.append(self.request_id)
        return True


@Injectable(scope=Scope.REQUEST)
class Interceptor:
    COUNTER = 0
    REQUEST_SCOPED_DATA: ClassVar[list[int]] = []

    def __init__(self, request_id: Annotated[int, Inject("REQUEST_ID")]) -> None:
        Interceptor.COUNTER += 1
        self.request_id = request_id

    def intercept(self, context: ExecutionContext, call: CallHandler) -> Any:
        Interceptor.REQUEST_SCOPED_DATA.append(self.request_id)
        return call.handle()


@Injectable()
class HelloService:
    def greeting(self) -> str:
        return "Hello world!"


@Injectable(scope=Scope.REQUEST)
class UsersService:
    COUNTER = 0

    def __init__(self, meta: Annotated[Any, Inject("META")]) -> None:
        UsersService.COUNTER += 1


@Controller()
class HelloController:
    COUNTER = 0

    def __init__(self, hello_service: HelloService, users_service: UsersService) -> None:
        HelloController.COUNTER += 1
        self.hello_service = hello_service

    @UseGuards(Guard)
    @UseInterceptors(Interceptor)
    @MessagePattern("test")
    def greeting(self) -> str:
        return self.hello_service.greeting()


@Module(
    controllers=[HelloController],
    providers=[
        HelloService,
        UsersService,
        Provider("REQUEST_ID", use_factory=lambda: 1, scope=Scope.REQUEST),
    ],
)
class HelloModule:
    def __init__(self, meta: Annotated[Any, Inject("META")]) -> None:
        self.meta = meta

    @classmethod
    def for_root(cls, meta: Provider) -> DynamicModule:
        return DynamicModule(module=cls, providers=[meta])


@pytest.fixture(scope="module")
def replies() -> list[Any]:
    return []


@pytest.fixture
async def served(replies: list[Any]) -> Any:
    if replies:  # the spec's beforeAll: three messages, once
        return
    async with serve(HelloModule.for_root(Provider("META", use_class=Meta))) as s:
        for _ in range(3):
            replies.append(await s.send("test"))


async def test_should_create_controller_for_each_request(served: None) -> None:
    """it('should create controller for each request')"""
    assert HelloController.COUNTER == 3


async def test_should_create_service_for_each_request(served: None) -> None:
    """it('should create service for each request')"""
    assert UsersService.COUNTER == 3


async def test_should_share_static_provider_across_requests(served: None) -> None:
    """it('should share static provider across requests')"""
    assert Meta.COUNTER == 1


async def test_should_create_request_scoped_interceptor_for_each_request(served: None) -> None:
    """it('should create request scoped interceptor for each request')"""
    assert Interceptor.COUNTER == 3
    assert Interceptor.REQUEST_SCOPED_DATA == [1, 1, 1]


async def test_should_create_request_scoped_guard_for_each_request(served: None) -> None:
    """it('should create request scoped guard for each request')"""
    assert Guard.COUNTER == 3
    assert Guard.REQUEST_SCOPED_DATA == [1, 1, 1]
