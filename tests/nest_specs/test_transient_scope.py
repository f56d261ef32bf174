"""Port of nestjs/nest ``integration/scopes/e2e/transient-scope.spec.ts``.

Reconstructed app (the spec's ``src/transient``): a request-scoped ``HelloController`` (it
depends on the request-scoped ``UsersService``) and a static ``OtherController`` both use a
transient guard, interceptor and parameter pipe; ``META`` is transient and injected by the
module, ``HelloService``, ``OtherService``, ``OtherController`` and each ``UsersService``. Three
messages reach ``HelloController``.
"""

from __future__ import annotations

from typing import Annotated, Any

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
from nestpy.microservices import (
    ArgumentMetadata,
    CallHandler,
    ExecutionContext,
    MessagePattern,
    Payload,
)
from tests.nest_specs.support import serve

SPEC = "integration/scopes/e2e/transient-scope.spec.ts"
MetaToken = Annotated[Any, Inject("META")]


class Meta:
    COUNTER = 0

    def __init__(self) -> None:
        Meta.COUNTER += 1


@Injectable(scope=Scope.TRANSIENT)
class Guard:
    COUNTER = 0

    def __init__(self) -> None:
        Guard.COUNTER += 1

    def can_activate(self, context: ExecutionContext) -> bool:
        return True


@Injectable(scope=Scope.TRANSIENT)
class Interceptor:
    COUNTER = 0

    def __init__(self) -> None:
        Interceptor.COUNTER += 1

    async def intercept(self, context: ExecutionContext, call: CallHandler) -> Any:
        return await call.handle()


@Injectable(scope=Scope.TRANSIENT)
class UserByIdPipe:
    COUNTER = 0

    def __init__(self) -> None:
        UserByIdPipe.COUNTER += 1

    def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
        return value


@Injectable()
class HelloService:
    def __init__(self, meta: MetaToken) -> None:
        self.meta = meta


@Injectable()
class OtherService:
    def __init__(self, meta: MetaToken) -> None:
        self.meta = meta


@Injectable(scope=Scope.REQUEST)
class UsersService:
    COUNTER = 0

    def __init__(self, meta: MetaToken) -> None:
        UsersService.COUNTER += 1


@Controller()
class HelloController:
    COUNTER = 0

    def __init__(self, hello: HelloService, users: UsersService) -> None:
        HelloController.COUNTER += 1

    @UseGuards(Guard)
    @UseInterceptors(Interceptor)
    @MessagePattern("hello")
    def greeting(self, user_id: Annotated[Any, Payload("id", UserByIdPipe)]) -> str:
        return "Hello world!"


@Controller()
class OtherController:
    def __init__(self, service: OtherService, meta: MetaToken) -> None:
        self.service = service

    @UseGuards(Guard)
    @UseInterceptors(Interceptor)
    @MessagePattern("test")
    def test(self, user_id: Annotated[Any, Payload("id", UserByIdPipe)]) -> str:
        return "test"


@Module(
    controllers=[HelloController, OtherController],
    providers=[HelloService, OtherService, UsersService],
)
class HelloModule:
    def __init__(self, meta: MetaToken) -> None:
        self.meta = meta

    @classmethod
    def for_root(cls, meta: Provider) -> DynamicModule:
        return DynamicModule(module=cls, providers=[meta])


@pytest.fixture(scope="module")
def sent() -> list[Any]:
    return []


@pytest.fixture
async def served(sent: list[Any]) -> None:
    if sent:  # the spec's before(): three requests, once
        return
    meta = Provider("META", use_class=Meta, scope=Scope.TRANSIENT)
    async with serve(HelloModule.for_root(meta)) as s:
        for _ in range(3):
            sent.append(await s.send("hello", {"id": 1}))


async def test_should_create_controller_for_each_request(served: None) -> None:
    """it('should create controller for each request')"""
    assert HelloController.COUNTER == 3


async def test_should_create_service_for_each_request(served: None) -> None:
    """it('should create service for each request')"""
    assert UsersService.COUNTER == 3


async def test_should_create_provider_for_each_inquirer(served: None) -> None:
    """it('should create provider for each inquirer'): the module, HelloService, OtherService,
    OtherController, and one UsersService per request."""
    assert Meta.COUNTER == 7


async def test_should_create_transient_pipe_for_each_controller(served: None) -> None:
    """it('should create transient pipe for each controller (3 requests, 1 static)')"""
    assert UserByIdPipe.COUNTER == 4


async def test_should_create_transient_interceptor_for_each_controller(served: None) -> None:
    """it('should create transient interceptor for each controller (3 requests, 1 static)')"""
    assert Interceptor.COUNTER == 4


async def test_should_create_transient_guard_for_each_controller(served: None) -> None:
    """it('should create transient guard for each controller (3 requests, 1 static)')"""
    assert Guard.COUNTER == 4
