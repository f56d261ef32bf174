"""Ports of nestjs/nest ``integration/injector/e2e/core-injectables.spec.ts`` and
``circular-property-injection.spec.ts``.

``ApplicationConfig`` (Nest's HTTP global prefix and the like) has no nestpy counterpart; its
case is in ``docs/differences.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

from nestpy import Inject, Injectable, Module, ModuleRef, forward_ref
from nestpy.testing import Test


@Module()
class CoreInjectablesModule: ...


async def test_should_provide_module_ref_as_core_injectable() -> None:
    """core-injectables.spec.ts: it('should provide ModuleRef as core injectable')"""
    module = await Test.create_testing_module(imports=[CoreInjectablesModule]).compile()
    assert isinstance(module.get(ModuleRef), ModuleRef)


async def test_should_provide_the_current_module_as_provider() -> None:
    """core-injectables.spec.ts: it('should provide the current Module as provider')"""
    module = await Test.create_testing_module(imports=[CoreInjectablesModule]).compile()
    instance = module.get(CoreInjectablesModule)
    assert type(instance).__name__ == "CoreInjectablesModule"


@Injectable()
class InputService:
    service: Annotated[Any, Inject(forward_ref(lambda: CircularService))]


@Injectable()
class CircularService:
    service: Annotated[Any, Inject(forward_ref(lambda: InputService))]


@Module(
    imports=[forward_ref(lambda: InputPropertiesModule)],
    providers=[CircularService],
    exports=[CircularService],
)
class CircularPropertiesModule: ...


@Module(
    imports=[forward_ref(lambda: CircularPropertiesModule)],
    providers=[InputService],
    exports=[InputService],
)
class InputPropertiesModule: ...


async def test_should_resolve_circular_dependency_between_providers() -> None:
    """circular-property-injection.spec.ts: it('should resolve circular dependency between
    providers')"""
    module = await Test.create_testing_module(
        imports=[CircularPropertiesModule, InputPropertiesModule]
    ).compile()
    input_service = module.get(InputService)
    circular_service = module.get(CircularService)
    assert input_service.service is circular_service
    assert circular_service.service is input_service
