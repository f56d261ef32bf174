"""Port of nestjs/nest ``integration/testing-module-override/e2e/modules-override.spec.ts``."""

from __future__ import annotations

import pytest

from nestpy import (
    Controller,
    DynamicModule,
    Global,
    Injectable,
    LazyModuleLoader,
    Module,
    Provider,
    UnknownElementError,
    forward_ref,
)
from nestpy.testing import Test


async def test_should_override_top_level_modules_using_testing_module_builder() -> None:
    """Top-level module: it('should override top-level modules using testing module
    builder')"""

    @Controller()
    class ControllerOverwritten: ...

    @Module(controllers=[ControllerOverwritten])
    class ModuleToBeOverwritten: ...

    @Controller()
    class ControllerOverride: ...

    @Module(controllers=[ControllerOverride])
    class ModuleOverride: ...

    module = await (
        Test.create_testing_module(imports=[ModuleToBeOverwritten])
        .override_module(ModuleToBeOverwritten)
        .use_module(ModuleOverride)
        .compile()
    )
    with pytest.raises(UnknownElementError):
        module.get(ControllerOverwritten)
    assert isinstance(module.get(ControllerOverride), ControllerOverride)


async def test_should_override_dynamic_modules_using_testing_module_builder() -> None:
    """Dynamic module: it('should override dynamic modules using testing module builder')"""

    @Controller()
    class ControllerOverwritten: ...

    @Module()
    class DynamicModuleToBeOverwritten: ...

    overwritten = DynamicModule(
        module=DynamicModuleToBeOverwritten, controllers=[ControllerOverwritten]
    )

    @Controller()
    class ControllerOverride: ...

    @Module()
    class DynamicModuleOverride: ...

    override = DynamicModule(module=DynamicModuleOverride, controllers=[ControllerOverride])
    module = await (
        Test.create_testing_module(imports=[overwritten])
        .override_module(overwritten)
        .use_module(override)
        .compile()
    )
    with pytest.raises(UnknownElementError):
        module.get(ControllerOverwritten)
    assert isinstance(module.get(ControllerOverride), ControllerOverride)


@Injectable()
class AProvider: ...


@Injectable()
class BProvider: ...


@Module(imports=[forward_ref(lambda: BModule)], providers=[AProvider], exports=[AProvider])
class AModule: ...


@Module(imports=[forward_ref(lambda: AModule)], providers=[BProvider], exports=[BProvider])
class BModule: ...


@Injectable()
class CProvider: ...


@Module(providers=[CProvider])
class CModule: ...


@Injectable()
class BProviderOverride: ...


@Module(
    imports=[forward_ref(lambda: AModule), forward_ref(lambda: CModule)],
    providers=[BProviderOverride],
    exports=[BProviderOverride],
)
class BModuleOverride: ...


async def test_should_override_a_module_in_a_circular_dependency() -> None:
    """Circular dependency module: it('should override top-level modules using testing module
    builder')"""
    module = await (
        Test.create_testing_module(imports=[AModule])
        .override_module(BModule)
        .use_module(BModuleOverride)
        .compile()
    )
    assert isinstance(module.get(AProvider), AProvider)
    with pytest.raises(UnknownElementError):
        module.get(BProvider)
    assert isinstance(module.get(CProvider), CProvider)
    assert isinstance(module.get(BProviderOverride), BProviderOverride)


async def test_should_override_nested_modules_using_testing_module_builder() -> None:
    """Nested module: it('should override nested modules using testing module builder')"""

    @Controller()
    class OverwrittenNestedModuleController: ...

    @Module(controllers=[OverwrittenNestedModuleController])
    class OverwrittenNestedModule: ...

    @Controller()
    class OverrideNestedModuleController: ...

    @Module(controllers=[OverrideNestedModuleController])
    class OverrideNestedModule: ...

    @Module(imports=[OverwrittenNestedModule])
    class AppModule: ...

    module = await (
        Test.create_testing_module(imports=[AppModule])
        .override_module(OverwrittenNestedModule)
        .use_module(OverrideNestedModule)
        .compile()
    )
    assert isinstance(module.get(OverrideNestedModuleController), OverrideNestedModuleController)
    with pytest.raises(UnknownElementError):
        module.get(OverwrittenNestedModuleController)


class OverwrittenLazyProvider:
    def value(self) -> str:
        return "overwritten lazy"


@Module(providers=[Provider("LAZY_PROVIDER", use_class=OverwrittenLazyProvider)])
class OverwrittenLazyModule: ...


class OverrideLazyProvider:
    def value(self) -> str:
        return "override lazy"


@Module(providers=[Provider("LAZY_PROVIDER", use_class=OverrideLazyProvider)])
class OverrideLazyModule: ...


@Injectable()
class AppService:
    def __init__(self, lazy_module_loader: LazyModuleLoader) -> None:
        self.loader = lazy_module_loader

    async def value(self) -> str:
        module_ref = await self.loader.load(lambda: OverwrittenLazyModule)
        return str(module_ref.get("LAZY_PROVIDER").value())


@Module(providers=[AppService])
class LazyAppModule: ...


async def test_should_override_lazy_loaded_modules_using_testing_module_builder() -> None:
    """Lazy-loaded module: it('should override lazy loaded modules using testing module
    builder')"""
    module = await (
        Test.create_testing_module(imports=[LazyAppModule])
        .override_module(OverwrittenLazyModule)
        .use_module(OverrideLazyModule)
        .compile()
    )
    assert await module.get(AppService).value() == "override lazy"


async def test_should_override_global_modules_using_testing_module_builder() -> None:
    """Global module: it('should override global modules using testing module builder')"""

    @Injectable()
    class OverwrittenProvider: ...

    @Global()
    @Module(providers=[OverwrittenProvider], exports=[OverwrittenProvider])
    class OverwrittenModule: ...

    @Injectable()
    class OverrideProvider: ...

    @Global()
    @Module(providers=[OverrideProvider], exports=[OverrideProvider])
    class OverrideModule: ...

    module = await (
        Test.create_testing_module(imports=[OverwrittenModule])
        .override_module(OverwrittenModule)
        .use_module(OverrideModule)
        .compile()
    )
    assert isinstance(module.get(OverrideProvider), OverrideProvider)
    with pytest.raises(UnknownElementError):
        module.get(OverwrittenProvider)
