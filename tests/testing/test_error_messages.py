"""Mistakes a new user makes, and the messages that name the fix."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from nestpy import Controller, Injectable, Module, Scope
from nestpy.core.scanner import ControllerRegistrationWarning, Scanner
from nestpy.microservices import EventPattern, MessagePattern, RpcException, Transport
from nestpy.microservices.listeners import ShadowedHandlerError
from nestpy.testing import InMemoryClient, InMemoryOptions, Test


@Controller()
class NotifyController:
    def __init__(self) -> None:
        self.notified: list[Any] = []  # the same name as the handler below

    @EventPattern("notified")
    def notified(self, data: Any) -> None:
        self.notified.append(data)


@Controller(scope=Scope.REQUEST)
class ScopedNotifyController:
    def __init__(self) -> None:
        self.count = 0

    @MessagePattern("count")
    def count(self, data: Any) -> int:
        return 1


SHADOWED = (
    "NotifyController.notified is a handler (@EventPattern('notified') def notified), but the "
    "instance attribute self.notified (a list, set in __init__ or later) hides it. Rename the "
    "attribute (e.g. self._notified) or the method."
)


async def test_an_attribute_shadowing_a_handler_names_the_controller_and_the_fix() -> None:
    @Module(controllers=[NotifyController])
    class AppModule: ...

    mod = await Test.create_testing_module(imports=[AppModule]).compile()
    try:
        with pytest.raises(ShadowedHandlerError) as info:
            await mod.create_microservice(transport=Transport.IN_MEMORY)
    finally:
        await mod.close()
    assert str(info.value) == SHADOWED
    assert isinstance(info.value, TypeError)


async def test_a_request_scoped_controller_is_checked_at_its_first_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @Module(controllers=[ScopedNotifyController])
    class AppModule: ...

    mod = await Test.create_testing_module(imports=[AppModule]).compile()
    try:
        app = await mod.create_microservice(transport=Transport.IN_MEMORY)
        client = InMemoryClient(InMemoryOptions(broker=mod.in_memory_broker))
        with caplog.at_level(logging.ERROR), pytest.raises(RpcException):
            await client.send("count", 1, timeout=5)
        await client.close()
        await app.close()
    finally:
        await mod.close()
    errors = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert any(
        isinstance(e, ShadowedHandlerError) and "ScopedNotifyController.count" in str(e)
        for e in errors
    )


def test_a_class_in_controllers_without_controller_decorator_warns() -> None:
    class Plain:
        @MessagePattern("plain")
        def plain(self, data: Any) -> Any:
            return data

    @Module(controllers=[Plain])
    class AppModule: ...

    with pytest.warns(ControllerRegistrationWarning) as record:
        container = Scanner().scan(AppModule)
    assert str(record[0].message) == (
        "AppModule lists Plain in controllers, but Plain is not decorated with @Controller(). "
        "Add @Controller() to the class (nestpy registers it anyway; Nest would not inject its "
        "constructor)."
    )
    assert Plain in next(iter(container.nodes.values())).controllers


def test_a_controller_under_providers_warns() -> None:
    @Controller()
    class Misplaced:
        @MessagePattern("misplaced")
        def misplaced(self, data: Any) -> Any:
            return data

    @Injectable()
    class Fine: ...

    @Module(providers=[Misplaced, Fine])
    class AppModule: ...

    with pytest.warns(ControllerRegistrationWarning) as record:
        Scanner().scan(AppModule)
    assert [str(w.message) for w in record] == [
        "AppModule lists the controller Misplaced in providers: its message handlers are only "
        "registered from controllers=[...]. Move Misplaced to controllers, or use "
        "@Injectable() if it is a provider."
    ]
