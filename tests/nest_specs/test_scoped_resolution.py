"""Ports of nestjs/nest ``integration/scopes/e2e/resolve-scoped.spec.ts``,
``integration/scopes/e2e/nest-application-context-get-scope-provider.spec.ts`` and
``integration/injector/e2e/request-scope-bubbling.spec.ts``."""

from __future__ import annotations

import random
from typing import Annotated, Any

import pytest

from nestpy import (
    ContextIdFactory,
    Inject,
    Injectable,
    Module,
    Provider,
    Scope,
)
from nestpy.testing import Test, TestingModule

# -- resolve-scoped.spec.ts -------------------------------------------------------------------

LOGGER_PROVIDER = "LOGGER_PROVIDER"
logger_provider = Provider(LOGGER_PROVIDER, use_factory=lambda: {"logger": True})


@Injectable(scope=Scope.TRANSIENT)
class LoggerService:
    def __init__(self, logger: Annotated[Any, Inject(LOGGER_PROVIDER)]) -> None:
        self.logger = logger


@Injectable(scope=Scope.REQUEST)
class RequestLoggerService:
    def __init__(self, logger_service: LoggerService) -> None:
        self.logger_service = logger_service


@pytest.fixture
async def resolving_app() -> TestingModule:
    builder = Test.create_testing_module(
        providers=[LoggerService, logger_provider, RequestLoggerService]
    )
    return await builder.compile()


async def test_should_resolve_transient_logger(resolving_app: TestingModule) -> None:
    """resolve-scoped.spec.ts: it('should resolve transient logger')"""
    transient_logger = await resolving_app.resolve(LoggerService)
    assert transient_logger.logger == {"logger": True}


async def test_should_resolve_request_scoped_logger(resolving_app: TestingModule) -> None:
    """resolve-scoped.spec.ts: it('should resolve request-scoped logger')"""
    request_scoped = await resolving_app.resolve(RequestLoggerService)
    assert isinstance(request_scoped.logger_service, LoggerService)
    assert request_scoped.logger_service.logger == {"logger": True}


# -- nest-application-context-get-scope-provider.spec.ts --------------------------------------


class Meta:
    COUNTER = 0

    def __init__(self) -> None:
        Meta.COUNTER += 1


async def test_get_and_resolve_create_providers_per_scope() -> None:
    """nest-application-context-get-scope-provider.spec.ts: it('should create provider for
    scope default'), it('should create provider for scope request') and it('should create
    provider for scope transient'), in the spec's order (its counter runs across them)."""
    Meta.COUNTER = 0
    app = await Test.create_testing_module(
        providers=[
            Provider("META", use_class=Meta),
            Provider("META_REQUEST", use_class=Meta, scope=Scope.REQUEST),
            Provider("META_TRANSIENT", use_class=Meta, scope=Scope.TRANSIENT),
        ]
    ).compile()
    app.get("META")
    assert Meta.COUNTER == 1
    app.get("META")
    await app.resolve("META")
    await app.resolve("META")
    assert Meta.COUNTER == 1
    await app.resolve("META_REQUEST")
    assert Meta.COUNTER == 2
    await app.resolve("META_REQUEST")
    assert Meta.COUNTER == 3
    await app.resolve("META_TRANSIENT")
    assert Meta.COUNTER == 4
    await app.resolve("META_TRANSIENT")
    assert Meta.COUNTER == 5
    await app.close()


# -- request-scope-bubbling.spec.ts -----------------------------------------------------------


@Injectable(scope=Scope.REQUEST)
class ChildService:
    def __init__(self) -> None:
        self.id = random.random()


@Injectable()
class ParentService:
    def __init__(self, child: ChildService) -> None:
        self.child = child


@Module(providers=[ChildService, ParentService])
class BubblingModule: ...


async def test_downgrades_a_singleton_depending_on_a_request_scoped_provider() -> None:
    """request-scope-bubbling.spec.ts: it('should downgrade a Singleton to Request-Scoped if it
    depends on a Request-Scoped provider')"""
    module = await Test.create_testing_module(imports=[BubblingModule]).compile()
    parent1 = await module.resolve(ParentService, ContextIdFactory.create())
    parent2 = await module.resolve(ParentService, ContextIdFactory.create())
    assert parent1.child.id != parent2.child.id
    assert parent1 is not parent2
