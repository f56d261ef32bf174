"""Port of nestjs/nest ``integration/scopes/e2e/durable-providers.spec.ts`` (app of
``integration/scopes/src/durable``), served as a microservice in memory: the tenant comes in
the message data instead of an ``x-tenant-id`` header, and the forced error is a message field.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from typing import Annotated, Any

import pytest

from nestpy import (
    REQUEST,
    AttachedContext,
    ContextId,
    ContextIdFactory,
    Controller,
    Inject,
    Injectable,
    Module,
    Scope,
)
from nestpy.microservices import MessagePattern, RpcException
from tests.nest_specs.support import Served, serve

OVERLAP_REQUEST_COUNT = 200  # the spec sends 1,000 over HTTP

tenants: dict[str, ContextId] = {}


class DurableContextIdStrategy:
    def attach(self, context_id: Hashable, request: Any) -> AttachedContext:
        tenant_id = str(request.data["tenant_id"])
        tenant = tenants.setdefault(tenant_id, ContextId(int(tenant_id)))
        payload: dict[str, Any] = {"tenant_id": tenant_id}
        if request.data.get("force_error"):
            payload["force_error"] = True
        return AttachedContext(
            resolve=lambda info: tenant if info.is_tree_durable else context_id, payload=payload
        )


@Injectable(scope=Scope.REQUEST, durable=True)
class DurableService:
    def __init__(self, request_payload: Annotated[dict[str, Any], Inject(REQUEST)]) -> None:
        if request_payload.get("force_error"):
            raise RpcException("Forced error")
        self.request_payload = request_payload
        self.instance_counter = 0

    def greeting(self) -> str:
        self.instance_counter += 1
        return f"Hello world! Counter: {self.instance_counter}"

    def get_tenant_id(self) -> str:
        return str(self.request_payload["tenant_id"])


@Injectable()
class NonDurableService:
    def __init__(self, request_payload: Annotated[dict[str, Any], Inject(REQUEST)]) -> None:
        self.request_payload = request_payload

    def get_tenant_id(self) -> str:
        return str(self.request_payload["tenant_id"])


@Controller("durable")
class DurableController:
    def __init__(self, durable: DurableService, non_durable: NonDurableService) -> None:
        self.durable = durable
        self.non_durable = non_durable

    @MessagePattern("durable")
    def greeting(self) -> str:
        return self.durable.greeting()

    @MessagePattern("durable/echo")
    def echo(self) -> dict[str, str]:
        return {"tenantId": self.durable.get_tenant_id()}

    @MessagePattern("durable/request-context")
    def request_context(self) -> dict[str, str]:
        return {
            "durableService": self.durable.get_tenant_id(),
            "nonDurableService": self.non_durable.get_tenant_id(),
        }


@Module(controllers=[DurableController], providers=[DurableService, NonDurableService])
class DurableModule: ...


@pytest.fixture
async def app() -> AsyncIterator[Served]:
    ContextIdFactory.apply(DurableContextIdStrategy())
    tenants.clear()
    try:
        async with serve(DurableModule) as served:
            yield served
    finally:
        ContextIdFactory.apply(None)


def call(app: Served, tenant: int, pattern: str = "durable", **extra: Any) -> Any:
    return app.send(pattern, {"tenant_id": tenant, **extra})


async def test_should_share_durable_providers_per_tenant(app: Served) -> None:
    """it('should share durable providers per tenant')"""
    assert await call(app, 1) == "Hello world! Counter: 1"
    assert await call(app, 1) == "Hello world! Counter: 2"
    assert await call(app, 1) == "Hello world! Counter: 3"


async def test_should_create_per_tenant_di_sub_tree(app: Served) -> None:
    """it('should create per-tenant DI sub-tree')"""
    for tenant in (4, 5, 6):
        assert await call(app, tenant) == "Hello world! Counter: 1"


async def test_should_register_a_custom_per_tenant_request_payload(app: Served) -> None:
    """it('should register a custom per-tenant request payload')"""
    assert await call(app, 1, "durable/echo") == {"tenantId": "1"}
    assert await call(app, 3, "durable/echo") == {"tenantId": "3"}


async def test_same_tenant_id_from_durable_and_non_durable_services(app: Served) -> None:
    """it('should return the same tenantId both from durable request scoped service and
    non-durable request scoped service')"""
    for tenant in (1, 2):
        assert await call(app, tenant, "durable/request-context") == {
            "durableService": str(tenant),
            "nonDurableService": str(tenant),
        }


async def test_preserves_request_context_across_overlapping_requests(app: Served) -> None:
    """it('should preserve request context across overlapping requests from different
    tenants')"""
    ids = range(21, 21 + OVERLAP_REQUEST_COUNT)
    replies = await asyncio.gather(*(call(app, t, "durable/request-context") for t in ids))
    assert replies == [{"durableService": str(t), "nonDurableService": str(t)} for t in ids]


async def test_reuses_the_durable_subtree_across_overlapping_requests(app: Served) -> None:
    """it('should reuse the durable subtree across overlapping requests for the same
    tenant')"""
    replies = await asyncio.gather(*(call(app, 31) for _ in range(OVERLAP_REQUEST_COUNT)))
    counters = sorted(int(reply.rsplit(" ", 1)[1]) for reply in replies)
    assert counters == list(range(1, OVERLAP_REQUEST_COUNT + 1))


async def test_should_not_cache_durable_providers_that_throw_errors(app: Served) -> None:
    """it('should not cache durable providers that throw errors')"""
    with pytest.raises(RpcException, match="Forced error"):
        await call(app, 10, "durable/echo", force_error=True)
    assert await call(app, 10, "durable/echo") == {"tenantId": "10"}
