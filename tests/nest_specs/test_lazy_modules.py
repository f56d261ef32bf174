"""Ports of nestjs/nest ``integration/lazy-modules/e2e`` (app of ``integration/lazy-modules/src``):
``lazy-import-global-modules.spec.ts``, ``lazy-import-transient-providers.spec.ts`` and
``lazy-import-request-providers.spec.ts``, served as a microservice in memory."""

from __future__ import annotations

from typing import Any

from nestpy import (
    Controller,
    Global,
    Injectable,
    LazyModuleLoader,
    Module,
    Scope,
)
from nestpy.microservices import MessagePattern
from nestpy.testing import Test
from tests.nest_specs.support import serve


@Injectable()
class GlobalService: ...


@Global()
@Module(providers=[GlobalService], exports=[GlobalService])
class GlobalModule: ...


@Injectable()
class LazyService:
    def __init__(self, global_service: GlobalService) -> None:
        self.global_service = global_service


@Module(providers=[LazyService])
class LazyModule: ...


@Injectable()
class EagerService:
    def __init__(self) -> None:
        self.counter = 0

    def say_hello(self) -> str:
        self.counter += 1
        return f"Hi! Counter is {self.counter}"


@Module(providers=[EagerService], exports=[EagerService])
class EagerModule: ...


@Module(imports=[GlobalModule, EagerModule])
class AppModule:
    def __init__(self, loader: LazyModuleLoader) -> None:
        self.loader = loader

    async def on_application_bootstrap(self) -> None:
        self.lazy = await self.loader.load(lambda: LazyModule)


async def test_should_allow_imports_of_global_modules() -> None:
    """lazy-import-global-modules.spec.ts: it('should allow imports of global modules')"""
    module = await Test.create_testing_module(imports=[AppModule]).compile()
    lazy = module.select(AppModule).get(AppModule).lazy
    assert lazy.get(LazyService).global_service is module.get(GlobalService)
    await module.close()


@Injectable(scope=Scope.TRANSIENT)
class TransientService:
    def __init__(self, eager: EagerService) -> None:
        self.eager_service = eager

    def eager(self) -> str:
        return self.eager_service.say_hello()


@Module(imports=[EagerModule], providers=[TransientService])
class TransientLazyModule: ...


@Injectable(scope=Scope.REQUEST)
class RequestService:
    def __init__(self, eager: EagerService) -> None:
        self.eager_service = eager

    def eager(self) -> str:
        return self.eager_service.say_hello()


@Module(imports=[EagerModule], providers=[RequestService])
class RequestLazyModule: ...


@Controller("lazy")
class LazyController:
    def __init__(self, loader: LazyModuleLoader) -> None:
        self.loader = loader

    @MessagePattern("lazy/transient")
    async def transient(self, data: Any) -> str:
        module_ref = await self.loader.load(lambda: TransientLazyModule)
        service = await module_ref.resolve(TransientService)
        return service.eager()

    @MessagePattern("lazy/request")
    async def request(self, data: Any) -> str:
        module_ref = await self.loader.load(lambda: RequestLazyModule)
        service = await module_ref.resolve(RequestService)
        return service.eager()


@Module(controllers=[LazyController])
class LazyControllerModule: ...


async def test_lazy_transient_providers_do_not_recreate_default_scope_dependencies() -> None:
    """lazy-import-transient-providers.spec.ts: it('should not recreate dependencies for
    default scope')"""
    async with serve(LazyControllerModule) as s:
        assert await s.send("lazy/transient") == "Hi! Counter is 1"
        assert await s.send("lazy/transient") == "Hi! Counter is 2"


async def test_lazy_request_providers_do_not_recreate_default_scope_dependencies() -> None:
    """lazy-import-request-providers.spec.ts: it('should not recreate dependencies for default
    scope')"""
    async with serve(LazyControllerModule) as s:
        assert await s.send("lazy/request") == "Hi! Counter is 1"
        assert await s.send("lazy/request") == "Hi! Counter is 2"
