"""Ports of nestjs/nest ``integration/injector/e2e/optional-factory-provider-dep.spec.ts`` and
``request-scoped-factory-provider.spec.ts`` (served as a microservice in memory; the request's
headers are message fields)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest

from nestpy import (
    REQUEST,
    Controller,
    Inject,
    Injectable,
    Module,
    Provider,
    Scope,
    UnknownDependenciesError,
)
from nestpy.microservices import MessagePattern
from nestpy.testing import Test
from tests.nest_specs.support import serve

DEFAULT_VALUE = "DEFAULT_VALUE"


def _or_default(dep: Any) -> Any:
    return DEFAULT_VALUE if dep is None else dep


async def test_optional_dependency_available_is_injected_into_the_factory() -> None:
    """when dependency is optional and it is available: it('then it should be injected into
    the factory function')"""
    module = await Test.create_testing_module(
        providers=[
            Provider(
                "FACTORY", use_factory=_or_default, inject=[Inject("MISSING_DEP", optional=True)]
            ),
            Provider("MISSING_DEP", use_value="OPTIONAL_DEP_VALUE"),
        ]
    ).compile()
    assert module.get("FACTORY") == "OPTIONAL_DEP_VALUE"


async def test_missing_optional_dependency_injects_none() -> None:
    """otherwise: it('"undefined" should be injected into the factory function')"""
    module = await Test.create_testing_module(
        providers=[
            Provider(
                "FACTORY", use_factory=_or_default, inject=[Inject("MISSING_DEP", optional=True)]
            )
        ]
    ).compile()
    assert module.get("FACTORY") == DEFAULT_VALUE


async def test_missing_optional_dependency_injects_none_in_a_scoped_provider() -> None:
    """otherwise: it('"undefined" should be injected into the factory function (scoped
    provider)')"""
    module = await Test.create_testing_module(
        providers=[
            Provider("SECOND_OPTIONAL_DEPENDENCY", use_value="second"),
            Provider(
                "MY_PROVIDER",
                scope=Scope.REQUEST,
                inject=[
                    Inject("FIRST_OPTIONAL_DEPENDENCY", optional=True),
                    Inject("SECOND_OPTIONAL_DEPENDENCY", optional=True),
                ],
                use_factory=lambda first, second: {"first": first, "second": second},
            ),
        ]
    ).compile()
    assert await module.resolve("MY_PROVIDER") == {"first": None, "second": "second"}


async def test_unregistered_dependency_errors_out() -> None:
    """and dependency is not registered: it('should error out')"""
    builder = Test.create_testing_module(
        providers=[
            Provider("FACTORY", use_factory=lambda _: "RETURNED_VALUE", inject=["MISSING_DEP"])
        ]
    )
    with pytest.raises(UnknownDependenciesError):
        await builder.compile()


async def test_registered_dependency_that_cannot_be_instantiated_errors_out() -> None:
    """and dependency is registered but it cannot be instantiated: it('should error out')"""
    builder = Test.create_testing_module(
        providers=[
            Provider("POSSIBLY_MISSING_DEP", use_factory=lambda _: None, inject=["MISSING_DEP"]),
            Provider(
                "FACTORY",
                use_factory=lambda _: "RETURNED_VALUE",
                inject=[Inject("POSSIBLY_MISSING_DEP", optional=False)],
            ),
        ]
    )
    with pytest.raises(UnknownDependenciesError) as info:
        await builder.compile()
    assert "Nest can't resolve dependencies of the POSSIBLY_MISSING_DEP (?)" in str(info.value)


# -- request-scoped-factory-provider.spec.ts --------------------------------------------------

REQUEST_SCOPED_FACTORY = "REQUEST_SCOPED_FACTORY"


class AuthenticatedTenant:
    def __init__(self, tenant_name: str, client_name: str) -> None:
        self.tenant_name = tenant_name
        self.client_name = client_name


@Injectable()
class JwtStrategyService:
    def validate(self, request: Any) -> dict[str, Any]:
        data = request.data
        return {"tenant_id": data.get("tenant_id", "tenant-1"), "client_id": data.get("client_id")}


@Injectable()
class ConfigService:
    def get(self, key: str) -> str:
        return "config-value"


async def authenticated_tenant(
    strategy: JwtStrategyService, request: Any, config: ConfigService
) -> AuthenticatedTenant:
    await asyncio.sleep(0)  # let overlapping messages interleave
    claim = strategy.validate(request)
    return AuthenticatedTenant(claim["tenant_id"], claim["client_id"])


@Injectable(scope=Scope.REQUEST)
class ActorService:
    def __init__(self, request: Annotated[Any, Inject(REQUEST)]) -> None:
        self.request = request

    def get_actor(self) -> str:
        return str(self.request.data.get("actor_id", "system"))


@Module(
    providers=[
        JwtStrategyService,
        ConfigService,
        Provider(
            AuthenticatedTenant,
            use_factory=authenticated_tenant,
            inject=[JwtStrategyService, REQUEST, ConfigService],
            scope=Scope.REQUEST,
        ),
    ],
    exports=[AuthenticatedTenant],
)
class AuthModule: ...


@Module(providers=[ActorService], exports=[ActorService])
class ActorModule: ...


async def request_scoped_factory(tenant: AuthenticatedTenant, actor: ActorService) -> Any:
    await asyncio.sleep(0)
    return {"actor_id": actor.get_actor(), "tenant_id": tenant.tenant_name}


@Controller()
class PostsController:
    def __init__(self, value: Annotated[Any, Inject(REQUEST_SCOPED_FACTORY)]) -> None:
        self.value = value

    @MessagePattern("posts")
    def get_value(self) -> Any:
        return self.value


@Module(
    imports=[AuthModule, ActorModule],
    controllers=[PostsController],
    providers=[
        Provider(
            REQUEST_SCOPED_FACTORY,
            scope=Scope.REQUEST,
            inject=[AuthenticatedTenant, ActorService],
            use_factory=request_scoped_factory,
        )
    ],
)
class PostsModule: ...


async def test_resolves_all_injected_dependencies_across_overlapping_requests() -> None:
    """request-scoped-factory-provider.spec.ts: it('should resolve all injected dependencies
    across overlapping requests')"""
    async with serve(PostsModule) as s:
        replies = await asyncio.gather(
            *(
                s.send(
                    "posts",
                    {
                        "actor_id": f"actor-{i}",
                        "client_id": f"client-{i}",
                        "tenant_id": f"tenant-{i}",
                    },
                )
                for i in range(10)
            )
        )
    assert replies == [{"actor_id": f"actor-{i}", "tenant_id": f"tenant-{i}"} for i in range(10)]
