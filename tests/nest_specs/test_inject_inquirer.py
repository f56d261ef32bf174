"""Port of nestjs/nest ``integration/scopes/e2e/inject-inquirer.spec.ts`` (app of
``integration/scopes/src/inject-inquirer``), served as a microservice in memory.

``INQUIRER`` injects the class the transient provider is built for (Nest injects the
consumer's instance-to-be, whose ``constructor`` the spec reads).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, ClassVar

from nestpy import INQUIRER, REQUEST, Controller, Inject, Injectable, Module, Scope
from nestpy.microservices import MessagePattern
from tests.nest_specs.support import serve

_ids = itertools.count(1)


class Logger:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def log(self, message: dict[str, Any]) -> None:
        self.calls.append(message)


@Injectable(scope=Scope.TRANSIENT)
class TransientLogger:
    def __init__(self, inquirer: Annotated[Any, Inject(INQUIRER)], logger: Logger) -> None:
        self.config = getattr(inquirer, "logger", {})
        self.logger = logger

    def log(self, message: str) -> None:
        self.logger.log({"message": message, **self.config})


@Injectable()
class HelloTransientService:
    logger: ClassVar[dict[str, str]] = {"feature": "transient"}

    def __init__(self, logger: TransientLogger) -> None:
        self.log = logger

    def greeting(self) -> None:
        self.log.log("Hello transient!")


@Injectable(scope=Scope.TRANSIENT)
class RequestLogger:
    def __init__(
        self,
        inquirer: Annotated[Any, Inject(INQUIRER)],
        request: Annotated[Any, Inject(REQUEST)],
        logger: Logger,
    ) -> None:
        self.config = getattr(inquirer, "logger", {})
        self.request = request
        self.logger = logger
        self.request_id = f"request-{next(_ids)}"

    def log(self, message: str) -> None:
        self.logger.log({"message": message, "requestId": self.request_id, **self.config})


@Injectable(scope=Scope.REQUEST)
class HelloRequestService:
    logger: ClassVar[dict[str, str]] = {"feature": "request"}

    def __init__(self, logger: RequestLogger) -> None:
        self.log = logger

    def greeting(self) -> None:
        self.log.log("Hello request!")

    def farewell(self) -> None:
        self.log.log("Goodbye request!")


@Controller()
class HelloController:
    def __init__(self, transient: HelloTransientService, request: HelloRequestService) -> None:
        self.transient = transient
        self.request = request

    @MessagePattern("hello/transient")
    def hello_transient(self) -> str:
        self.transient.greeting()
        return "ok"

    @MessagePattern("hello/request")
    def hello_request(self) -> str:
        self.request.greeting()
        self.request.farewell()
        return "ok"


@Module(
    controllers=[HelloController],
    providers=[HelloTransientService, HelloRequestService, TransientLogger, RequestLogger, Logger],
)
class HelloModule: ...


def _spy(testing: Any) -> Any:
    return testing.override_provider(Logger).use_value(spy)


spy = Logger()


async def test_should_allow_the_injection_of_inquirer_in_a_transient_scope() -> None:
    """it('should allow the injection of inquirer in a Transient Scope')"""
    spy.calls.clear()
    async with serve(HelloModule, builder=_spy) as s:
        await s.send("hello/transient")
    assert {"message": "Hello transient!", "feature": "transient"} in spy.calls


async def test_should_allow_the_injection_of_the_inquirer_in_a_request_scope() -> None:
    """it('should allow the injection of the inquirer in a Request Scope')"""
    spy.calls.clear()
    async with serve(HelloModule, builder=_spy) as s:
        await s.send("hello/request")
    first = spy.calls[0]
    assert first["message"] == "Hello request!"
    assert first["feature"] == "request"
    assert isinstance(first["requestId"], str)
    assert {
        "message": "Goodbye request!",
        "requestId": first["requestId"],
        "feature": "request",
    } in (spy.calls)
