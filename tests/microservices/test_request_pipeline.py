"""The request pipeline served for real (in memory): DI in enhancers, order, pipes, Reflector,
custom parameters, global enhancers and testing overrides."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from nestpy import (
    APP_PIPE,
    Controller,
    Injectable,
    Module,
    Provider,
    Reflector,
    SetMetadata,
    UseFilters,
    UseGuards,
    UseInterceptors,
    UsePipes,
)
from nestpy.microservices import (
    ArgumentMetadata,
    Catch,
    ExecutionContext,
    MessagePattern,
    ParseBoolPipe,
    ParseIntPipe,
    Payload,
    RpcException,
    ValidationPipe,
    create_param_decorator,
)
from tests.nest_specs.support import serve

log: list[str] = []


@Injectable()
class Tokens:
    def valid(self, token: Any) -> bool:
        return token == "secret"


@Injectable()
class AuthGuard:
    def __init__(self, tokens: Tokens) -> None:  # a constructor dependency: was a TypeError
        self.tokens = tokens

    def can_activate(self, context: ExecutionContext) -> bool:
        log.append("guard")
        return self.tokens.valid(context.switch_to_rpc().get_data().get("token"))


class Around:
    async def intercept(self, context: ExecutionContext, call_next: Any) -> Any:
        log.append("before")
        result = await call_next()
        log.append("after")
        return result


class Tag:
    def __init__(self, name: str) -> None:
        self.name = name

    def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
        log.append(f"pipe:{self.name}")
        return value


@Catch(ValueError)
class ValueErrors:
    def catch(self, exception: ValueError, host: ExecutionContext) -> Any:
        log.append("filter")
        raise RpcException({"code": "bad_value", "message": str(exception)})


Roles = Reflector.create_decorator()


@Injectable()
class RolesGuard:
    def __init__(self, reflector: Reflector) -> None:
        self.reflector = reflector

    def can_activate(self, context: ExecutionContext) -> bool:
        roles = self.reflector.get_all_and_override(
            Roles, [context.get_handler(), context.get_class()]
        )
        return not roles or context.switch_to_rpc().get_data().get("role") in roles


Topic = create_param_decorator(lambda data, ctx: ctx.switch_to_rpc().get_context().get_topic())


class Order(BaseModel):
    id: int
    qty: int


@Controller()
@UseGuards(AuthGuard)
@UsePipes(Tag("controller"))
@UseFilters(ValueErrors)
class OrdersController:
    @MessagePattern("orders.get")
    @UseInterceptors(Around)
    @UsePipes(Tag("method"))
    def get(self, order_id: Annotated[int, Payload("id", Tag("param"), ParseIntPipe)]) -> int:
        log.append("handler")
        if order_id < 0:
            raise ValueError("negative id")
        return order_id


@Controller()
@UseGuards(RolesGuard)
@Roles(["admin"])
class AdminController:
    @MessagePattern("admin.delete")
    def delete(self, data: Any) -> str:
        return "deleted"

    @MessagePattern("admin.read")
    @Roles(["admin", "reader"])
    def read(self, data: Any) -> str:
        return "read"

    @MessagePattern("admin.topic")
    @SetMetadata("public", True)
    def topic(self, data: Any, topic: Annotated[str, Topic()]) -> str:
        return topic

    @MessagePattern("admin.flag")
    def flag(self, on: Annotated[bool, Payload("on", ParseBoolPipe)]) -> bool:
        return on

    @MessagePattern("admin.order")
    def order(self, order: Annotated[Order, Payload(ValidationPipe(transform=True))]) -> int:
        return order.qty


@Module(controllers=[OrdersController, AdminController], providers=[Tokens])
class AppModule: ...


async def test_guard_with_a_dependency_then_interceptors_pipes_handler_in_nest_order() -> None:
    log.clear()
    async with serve(AppModule, configure=lambda app: app.use_global_pipes(Tag("global"))) as s:
        assert await s.send("orders.get", {"token": "secret", "id": "7"}) == 7
    assert log == [
        "guard",
        "before",
        "pipe:global",
        "pipe:controller",
        "pipe:method",
        "pipe:param",
        "handler",
        "after",
    ]


async def test_denied_guard_stops_before_interceptors_and_pipes() -> None:
    log.clear()
    async with serve(AppModule) as s:
        with pytest.raises(RpcException) as info:
            await s.send("orders.get", {"id": "7"})
    assert info.value.get_error() == {"status": "error", "message": "Forbidden resource"}
    assert log == ["guard"]


async def test_pipe_errors_and_handler_errors_go_through_the_filters() -> None:
    async with serve(AppModule) as s:
        with pytest.raises(RpcException) as info:
            await s.send("orders.get", {"token": "secret", "id": "x"})
        assert info.value.get_error() == {
            "status": "error",
            "message": "Validation failed (numeric string is expected)",
        }
        log.clear()
        with pytest.raises(RpcException) as info:
            await s.send("orders.get", {"token": "secret", "id": "-1"})
        assert info.value.get_error() == {"code": "bad_value", "message": "negative id"}
        assert log[-1] == "filter"


async def test_reflector_reads_the_handler_metadata_before_the_controller_metadata() -> None:
    async with serve(AppModule) as s:
        assert await s.send("admin.delete", {"role": "admin"}) == "deleted"
        assert await s.send("admin.read", {"role": "reader"}) == "read"
        with pytest.raises(RpcException):
            await s.send("admin.delete", {"role": "reader"})
    reflector = Reflector()
    assert reflector.get("public", AdminController.topic) is True
    assert reflector.get(Roles, AdminController) == ["admin"]
    assert reflector.get_all_and_merge(Roles, [AdminController.read, AdminController]) == [
        "admin",
        "reader",
        "admin",
    ]


async def test_custom_parameter_decorator_and_parse_pipes() -> None:
    async with serve(AppModule) as s:
        assert await s.send("admin.topic", {"role": "admin"}) == "admin.topic"
        assert await s.send("admin.flag", {"role": "admin", "on": "true"}) is True


async def test_validation_pipe_on_a_pydantic_model() -> None:
    async with serve(AppModule) as s:
        assert await s.send("admin.order", {"role": "admin", "id": 1, "qty": "3"}) == 3
        with pytest.raises(RpcException) as info:
            await s.send("admin.order", {"role": "admin", "id": 1})
    error = info.value.get_error()
    assert error["message"] == "Payload validation failed"
    assert error["errors"][0]["loc"] == ["qty"]


async def test_app_pipe_provider_gets_dependencies() -> None:
    @Injectable()
    class Upper:
        def __init__(self, tokens: Tokens) -> None:
            self.tokens = tokens

        def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
            return value.upper() if isinstance(value, str) else value

    @Controller()
    class Echo:
        @MessagePattern("echo")
        def echo(self, text: str) -> str:
            return text

    @Module(controllers=[Echo], providers=[Tokens, Provider(APP_PIPE, use_class=Upper)])
    class EchoModule: ...

    async with serve(EchoModule) as s:
        assert await s.send("echo", "hi") == "HI"


async def test_override_guard_interceptor_filter_and_pipe() -> None:
    class AllowAll:
        def can_activate(self, context: ExecutionContext) -> bool:
            return True

    class Tenfold:
        async def intercept(self, context: ExecutionContext, call_next: Any) -> Any:
            return 10 * await call_next()

    @Catch()
    class Swallow:
        def catch(self, exception: Exception, host: ExecutionContext) -> Any:
            return "swallowed"

    class Constant:
        def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
            return "5"

    def builder(testing: Any) -> Any:
        return (
            testing.override_guard(AuthGuard)
            .use_value(AllowAll())
            .override_interceptor(Around)
            .use_class(Tenfold)
            .override_filter(ValueErrors)
            .use_value(Swallow())
            .override_pipe(ParseIntPipe)
            .use_factory(factory=Constant)
        )

    async with serve(AppModule, builder=builder) as s:
        assert await s.send("orders.get", {"id": "x"}) == 50  # no token needed

    @Controller()
    @UseFilters(ValueErrors)
    class Failing:
        @MessagePattern("fail")
        def fail(self, data: Any) -> None:
            raise ValueError("no")

    @Module(controllers=[Failing])
    class FailingModule: ...

    def swallow(testing: Any) -> Any:
        return testing.override_filter(ValueErrors).use_value(Swallow())

    async with serve(FailingModule, builder=swallow) as s:
        assert await s.send("fail") == "swallowed"


async def test_use_global_enhancers_come_before_app_providers() -> None:
    log.clear()

    @Controller()
    class Echo:
        @MessagePattern("echo")
        def echo(self, text: str) -> str:
            return text

    @Module(controllers=[Echo], providers=[Provider(APP_PIPE, use_value=Tag("app"))])
    class EchoModule: ...

    async with serve(EchoModule, configure=lambda app: app.use_global_pipes(Tag("use"))) as s:
        assert await s.send("echo", "hi") == "hi"
    assert log == ["pipe:use", "pipe:app"]
