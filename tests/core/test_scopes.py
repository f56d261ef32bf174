import asyncio
from typing import Annotated, Any

import pytest

from nestpy import (
    REQUEST,
    Controller,
    Inject,
    Injectable,
    InvalidClassScopeError,
    Module,
    NestFactory,
    Provider,
    Scope,
)


@Injectable(scope=Scope.TRANSIENT)
class Logger:
    pass


@Injectable(scope=Scope.REQUEST)
class RequestState:
    def __init__(self, request: Annotated[Any, Inject(REQUEST)]) -> None:
        self.request = request


@Injectable()
class Handler:
    """DEFAULT scope, but it depends on a request-scoped provider: it becomes request-scoped."""

    def __init__(self, state: RequestState, logger: Logger) -> None:
        self.state = state
        self.logger = logger


@Injectable()
class Singleton:
    pass


@Controller()
class Ctl:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler


@Module(providers=[Logger, RequestState, Handler, Singleton], controllers=[Ctl])
class AppModule:
    pass


async def test_default_scope_is_one_instance_per_application() -> None:
    app = await NestFactory.create_application_context(AppModule)
    assert app.get(Singleton) is app.get(Singleton)
    assert await app.resolve(Singleton) is app.get(Singleton)


async def test_transient_gives_each_consumer_its_own_instance_and_does_not_bubble() -> None:
    class A:
        def __init__(self, logger: Logger) -> None:
            self.logger = logger

    class B:
        def __init__(self, logger: Logger) -> None:
            self.logger = logger

    @Module(providers=[Logger, A, B])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(A).logger is not app.get(B).logger
    assert app.get(A) is app.get(A)  # A stays a singleton
    assert not app.is_request_scoped(A)
    assert await app.resolve(Logger) is not await app.resolve(Logger)


async def test_request_scope_is_one_instance_per_context_id() -> None:
    app = await NestFactory.create_application_context(AppModule)
    first = await app.resolve(RequestState, "ctx-1")
    assert await app.resolve(RequestState, "ctx-1") is first
    assert await app.resolve(RequestState, "ctx-2") is not first
    assert await app.resolve(RequestState) is not await app.resolve(RequestState)


async def test_request_scope_bubbles_up_to_dependents_and_controllers() -> None:
    app = await NestFactory.create_application_context(AppModule)
    assert app.is_request_scoped(RequestState)
    assert app.is_request_scoped(Handler)
    assert app.is_request_scoped(Ctl)
    assert not app.is_request_scoped(Singleton)
    one = await app.resolve(Ctl, "message-1")
    two = await app.resolve(Ctl, "message-2")
    assert one is not two
    assert one.handler.state is await app.resolve(RequestState, "message-1")
    assert await app.resolve(Handler, "message-1") is one.handler


async def test_conformance_26_a_request_scoped_dependency_gives_a_new_controller_per_message() -> (
    None
):
    app = await NestFactory.create_application_context(AppModule)
    seen = {id(await app.resolve(Ctl, object())) for _ in range(3)}
    assert len(seen) == 3


async def test_request_token_injects_the_registered_request() -> None:
    app = await NestFactory.create_application_context(AppModule)
    app.register_request_by_context_id({"pattern": "sum"}, "ctx")
    state = await app.resolve(RequestState, "ctx")
    assert state.request == {"pattern": "sum"}
    assert (await app.resolve(RequestState, "other")).request is None


async def test_concurrent_messages_get_their_own_instances() -> None:
    app = await NestFactory.create_application_context(AppModule)

    async def handle(message: int) -> tuple[int, Handler, Handler]:
        app.register_request_by_context_id(message, message)
        first = await app.resolve(Handler, message)
        await asyncio.sleep(0)
        return message, first, await app.resolve(Handler, message)

    results = await asyncio.gather(*(handle(i) for i in range(3)))
    assert len({id(first) for _, first, _ in results}) == 3
    for message, first, again in results:
        assert first is again
        assert first.state.request == message


async def test_release_context_forgets_request_scoped_instances() -> None:
    app = await NestFactory.create_application_context(AppModule)
    first = await app.resolve(RequestState, "ctx")
    app.release_context("ctx")
    assert await app.resolve(RequestState, "ctx") is not first


async def test_context_ids_may_be_any_hashable_object() -> None:
    class ContextId:
        pass

    app = await NestFactory.create_application_context(AppModule)
    context_id = ContextId()
    first = await app.resolve(RequestState, context_id)
    assert await app.resolve(RequestState, context_id) is first
    assert await app.resolve(RequestState, ("tuple", 1)) is await app.resolve(
        RequestState, ("tuple", 1)
    )


async def test_get_refuses_scoped_providers() -> None:
    app = await NestFactory.create_application_context(AppModule)
    with pytest.raises(InvalidClassScopeError) as caught:
        app.get(Handler)
    assert str(caught.value) == (
        "Handler is marked as a scoped provider. Request and transient-scoped providers can't "
        'be used in combination with "get()" method. Please, use "resolve()" instead.'
    )
    with pytest.raises(InvalidClassScopeError):
        app.get(Logger)


async def test_request_scoped_async_factories_are_awaited_per_context() -> None:
    calls: list[object] = []

    async def load_user(request: object) -> str:
        calls.append(request)
        await asyncio.sleep(0)
        return f"user of {request}"

    class Greeter:
        def __init__(self, user: Annotated[str, Inject("USER")]) -> None:
            self.user = user

    @Module(
        providers=[
            Greeter,
            Provider("USER", use_factory=load_user, inject=[REQUEST], scope=Scope.REQUEST),
        ]
    )
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    app.register_request_by_context_id("alice", 1)
    greeter = await app.resolve(Greeter, 1)
    assert greeter.user == "user of alice"
    assert await app.resolve(Greeter, 1) is greeter
    assert calls == ["alice"]


async def test_provider_scope_overrides_the_class_scope() -> None:
    class Plain:
        pass

    @Module(providers=[Provider(Plain, use_class=Plain, scope=Scope.TRANSIENT)])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert await app.resolve(Plain) is not await app.resolve(Plain)


async def test_an_alias_of_a_request_scoped_provider_is_request_scoped() -> None:
    @Module(providers=[RequestState, Provider("ALIAS", use_existing=RequestState)])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.is_request_scoped("ALIAS")
    assert await app.resolve("ALIAS", "c") is await app.resolve(RequestState, "c")


async def test_a_transient_resolved_twice_with_one_context_id_is_one_instance() -> None:
    from nestpy import INQUIRER, Inject, Injectable, Module, NestFactory, Scope

    @Injectable(scope=Scope.TRANSIENT)
    class Helper:
        def __init__(self, inquirer: Annotated[object, Inject(INQUIRER)]) -> None:
            self.inquirer = inquirer

    @Module(providers=[Helper])
    class HelperModule: ...

    app = await NestFactory.create_application_context(HelperModule)
    context_id = object()
    first = await app.resolve(Helper, context_id)
    assert await app.resolve(Helper, context_id) is first
    assert await app.resolve(Helper, object()) is not first
    assert first.inquirer is None  # resolved directly: nobody asked for it
